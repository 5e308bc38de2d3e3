package io.pgferry.agent.roles;

import io.pgferry.agent.migration.Names;
import java.util.List;

/**
 * A role the database needs, as the source has it: attributes, memberships, cluster-wide settings, comment, and
 * its password's kind. The SCRAM verifier itself travels only in the source's {@code GET roles} answer and the
 * target's {@code PUT roles} body, and is never printed (see {@link #toString()}).
 *
 * @param password {@code scram}, {@code md5}, {@code none}, or {@code unknown} (pg_authid was not readable)
 * @param verifier the SCRAM verifier (never a plain password); null when not read or not SCRAM
 * @param validUntil ISO 8601 or {@code infinity}; null for none
 * @param settings {@code ALTER ROLE .. SET} of the role in every database, as {@code name=value}
 * @param why what made it needed: {@code owner}, {@code grantee}, {@code policy}, {@code member}, {@code group}, ...
 */
public record SourceRole(String name, boolean superuser, boolean inherit, boolean createrole, boolean createdb,
                         boolean login, boolean replication, boolean bypassrls, int connectionLimit, String validUntil,
                         String password, String verifier, List<String> settings, String comment,
                         List<Membership> memberOf, List<String> why) {
    public SourceRole {
        Names.require("roles[].name", name);
        settings = settings == null ? List.of() : List.copyOf(settings);
        memberOf = memberOf == null ? List.of() : List.copyOf(memberOf);
        why = why == null ? List.of() : List.copyOf(why);
        password = password == null ? "unknown" : password;
        if (verifier != null && !verifier.startsWith(PasswordVerifiers.SCRAM)) {
            throw new io.pgferry.agent.problem.BadRequestException("roles[].verifier", "verifier of role " + name
                    + " is not a SCRAM-SHA-256 verifier; only those are carried");
        }
    }

    /** The same role without its verifier: what preflight facts and answers may show. */
    public SourceRole withoutVerifier() {
        return new SourceRole(name, superuser, inherit, createrole, createdb, login, replication, bypassrls,
                connectionLimit, validUntil, password, null, settings, comment, memberOf, why);
    }

    /**
     * A membership in another role.
     *
     * @param inheritOption, setOption PostgreSQL 16+ only; null on older sources
     */
    public record Membership(String role, boolean adminOption, Boolean inheritOption, Boolean setOption) {
    }

    /** Never the verifier: records print every component by default. */
    @Override
    public String toString() {
        return "SourceRole[" + name + ", password=" + password + "]";
    }
}
