package io.pgferry.agent.privilegeset;

import io.pgferry.agent.json.Shared;
import java.util.List;

/**
 * An object in scope with its owner and ACL. It is named as {@code pg_identify_object_as_address} names it (type,
 * name parts, argument types): PostgreSQL's portable address, the same on every server and version, so the target
 * finds the source's object by it.
 *
 * @param owner null for columns (their table's owner is theirs)
 * @param acl the effective ACL, exploded: the built-in default when the catalog holds none; null for objects
 *            that have no ACL (collations, operators, ...)
 */
public record ObjectPrivileges(String type, List<String> names, List<String> args, String owner,
                               List<AclEntry> acl) {
    public ObjectPrivileges {
        type = Shared.of(type);
        owner = Shared.of(owner);
        names = names == null ? List.of() : Shared.all(names);
        args = args == null ? List.of() : Shared.all(args);
        acl = acl == null ? null : List.copyOf(acl);
    }

    Address address() {
        return new Address(type, names, args);
    }

    /** For messages: {@code table "s"."t"}, {@code function s.f(integer)}. */
    public String describe() {
        return address().describe();
    }

    record Address(String type, List<String> names, List<String> args) {
        String describe() {
            String name = String.join(".", names.stream().map(n -> '"' + n.replace("\"", "\"\"") + '"').toList());
            return type + " " + name + (args.isEmpty() && !type.contains("function") && !type.equals("procedure")
                    && !type.equals("aggregate") ? "" : "(" + String.join(", ", args) + ")");
        }
    }
}
