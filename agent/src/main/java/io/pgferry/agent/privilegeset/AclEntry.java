package io.pgferry.agent.privilegeset;

import io.pgferry.agent.json.Shared;

/**
 * One privilege of an ACL, as {@code aclexplode} gives it: who holds it (null for PUBLIC: a role may be named
 * "PUBLIC"), who granted it, and whether it may be passed on.
 */
public record AclEntry(String grantee, String grantor, String privilege, boolean grantable) {
    public AclEntry {
        grantee = Shared.of(grantee);
        grantor = Shared.of(grantor);
        privilege = Shared.of(privilege);
    }

    AclEntry mapped(RoleMap map) {
        return new AclEntry(map.target(grantee), map.target(grantor), privilege, grantable);
    }

    /** Same privilege of the same grantee from the same grantor, whether grantable or not. */
    Key key() {
        return new Key(grantee, grantor, privilege);
    }

    record Key(String grantee, String grantor, String privilege) {
    }
}
