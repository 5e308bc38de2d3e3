# Shared by the scripts in tools/: paths as ansible-playbook finds them. The collection pgferry.migrate (roles and
# playbooks included) is found through collections/ansible_collections/pgferry/migrate, a committed link to ansible/,
# so a clean checkout runs `ansible-playbook pgferry.migrate.<playbook>` with no setup step.
export PGFERRY_CACHE="${PGFERRY_CACHE:-$PWD/.cache}"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export ANSIBLE_COLLECTIONS_PATH="$PWD/collections"
