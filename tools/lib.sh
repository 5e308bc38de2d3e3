# Shared by the scripts in tools/: paths and the collection as ansible-playbook finds it.
export PGFERRY_CACHE="${PGFERRY_CACHE:-$PWD/.cache}"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.cache/playbook-collections"
export ANSIBLE_ROLES_PATH="$PWD/roles"

# ansible-playbook resolves pgferry.migrate.* through a link to the source in ansible/, so edits apply at once.
collection_link() {
  mkdir -p "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pgferry"
  ln -sfn "$PWD/ansible" "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/pgferry/migrate"
}
