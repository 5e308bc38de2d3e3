package io.pgferry.agent.privilegeset;

import java.util.List;

/**
 * One {@code ALTER DEFAULT PRIVILEGES} entry: the privileges objects of a kind get when {@code role} creates them
 * (in {@code schema}, or anywhere when null).
 *
 * @param objtype {@code r} tables, {@code S} sequences, {@code f} functions, {@code T} types, {@code n} schemas
 * @param acl the entry's ACL, exploded; for a global entry it replaces the built-in default, in a schema it adds
 */
public record DefaultAcl(String role, String schema, String objtype, List<AclEntry> acl) {
    public DefaultAcl {
        acl = acl == null ? List.of() : List.copyOf(acl);
    }
}
