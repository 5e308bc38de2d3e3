package io.pgferry.agent.privilegeset;

import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Who owns what and who may do what in a migration's scope, on one server: the objects of the schemas in scope,
 * the database, the default privileges and the row-level security policies. The source's is what the target is
 * made equal to (through the role map); the target's is read the same way to find what differs.
 *
 * @param serverMajor the server it was read on: privileges that one of two versions lacks (MAINTAIN before 17)
 *                    are left out of comparisons
 * @param superusers the roles named here that are superusers on that server
 */
public record PrivilegeSet(int serverMajor, DatabasePrivileges database, List<ObjectPrivileges> objects,
                           List<DefaultAcl> defaultAcls, List<PolicyRoles> policies, List<String> superusers) {
    public PrivilegeSet {
        objects = objects == null ? List.of() : List.copyOf(objects);
        defaultAcls = defaultAcls == null ? List.of() : List.copyOf(defaultAcls);
        policies = policies == null ? List.of() : List.copyOf(policies);
        superusers = superusers == null ? List.of() : List.copyOf(superusers);
    }

    /** Every role this set names: owners, grantees and grantors, policy roles, default-privilege and setting roles. */
    public Set<String> roleNames() {
        Set<String> out = new HashSet<>();
        if (database != null) {
            out.add(database.owner());
            database.acl().forEach(a -> add(out, a));
            database.settings().forEach(s -> out.add(s.role()));
        }
        for (ObjectPrivileges o : objects) {
            out.add(o.owner());
            if (o.acl() != null) {
                o.acl().forEach(a -> add(out, a));
            }
        }
        for (DefaultAcl d : defaultAcls) {
            out.add(d.role());
            d.acl().forEach(a -> add(out, a));
        }
        policies.forEach(p -> out.addAll(p.roles().stream().filter(Objects::nonNull).toList()));
        out.remove(null);
        return new TreeSet<>(out);
    }

    private static void add(Set<String> out, AclEntry a) {
        Stream.of(a.grantee(), a.grantor()).filter(Objects::nonNull).forEach(out::add);
    }
}
