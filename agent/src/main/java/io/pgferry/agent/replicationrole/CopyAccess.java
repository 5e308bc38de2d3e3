package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.postgres.ServerVersion;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The replication role's access to rows under row-level security while the initial copy runs ({@link
 * RowSecurityMode}): the copy policies it needs and the ones it no longer needs, or whether it may be given
 * BYPASSRLS. Refuses, before anything changes, what would copy a table short anyway.
 */
final class CopyAccess {
    private CopyAccess() {
    }

    /**
     * Adds the CREATE POLICY and DROP POLICY statements that leave exactly the copy policies wanted: with {@code
     * wanted}, one on every table in scope whose rows would otherwise be hidden from the role; without, none.
     *
     * @return the tables that carry a copy policy once the plan has run
     * @throws ApiException 422 {@code row_security_restrictive} or {@code row_security_not_owner} when a table's rows
     *                      cannot be shown by a policy pgferry may make
     */
    static List<TableRef> planPolicies(Connection c, Plan plan, String role, List<TableRef> tables, boolean wanted)
            throws SQLException {
        Set<TableRef> present = new TreeSet<>(RowSecurity.copyPolicies(c, role));
        Set<TableRef> keep = new TreeSet<>();
        if (wanted) {
            List<String> restricted = new ArrayList<>();
            List<String> notOwned = new ArrayList<>();
            for (RowSecurity.Table t : RowSecurity.read(c, role, role, tables)) {
                switch (t.access()) {
                    case COPY_POLICY -> keep.add(t.table());
                    case HIDDEN -> {
                        if (t.agentOwns()) {
                            keep.add(t.table());
                        } else {
                            notOwned.add(t.table().quoted() + " (owner " + t.owner() + ")");
                        }
                    }
                    case RESTRICTED -> restricted.add(t.table().quoted());
                    default -> {
                    }
                }
            }
            if (!restricted.isEmpty()) {
                throw ApiException.unprocessable("row_security_restrictive", "restrictive row-level security "
                        + "policies would hide rows of " + String.join(", ", restricted) + " from the initial copy, "
                        + "and no permissive policy can undo a restrictive one. Use row_security: bypassrls (a "
                        + "superuser agent), or leave these tables out (exclude_tables); nothing was changed",
                        restricted);
            }
            if (!notOwned.isEmpty()) {
                throw ApiException.unprocessable("row_security_not_owner", "row-level security would hide rows of "
                        + String.join(", ", notOwned) + " from the initial copy, and only their owner may create "
                        + "the temporary policy that shows them: run the agent as a role with the owner's "
                        + "privileges (GRANT <owner> TO <agent role>), or use row_security: bypassrls (a superuser "
                        + "agent), or leave them out; nothing was changed", notOwned);
            }
        }
        String to = Sql.ident(role);
        for (TableRef t : keep) {
            if (!present.contains(t)) {
                plan.add("CREATE POLICY " + to + " ON " + t.quoted() + " AS PERMISSIVE FOR SELECT TO " + to
                        + " USING (true)");
            }
        }
        for (TableRef t : present) {
            if (!keep.contains(t)) {
                plan.add("DROP POLICY " + to + " ON " + t.quoted());
            }
        }
        return List.copyOf(keep);
    }

    /** @throws ApiException 422 {@code bypassrls_not_allowed} unless {@link RowSecurity#agentMayGrantBypass} */
    static void requireMayGrantBypass(Connection c, ServerVersion version) throws SQLException {
        if (RowSecurity.agentMayGrantBypass(c, version.major())) {
            return;
        }
        throw ApiException.unprocessable("bypassrls_not_allowed", "row_security: bypassrls needs an agent role that "
                + "may grant BYPASSRLS (a superuser; from PostgreSQL 16 also a CREATEROLE role with BYPASSRLS), which "
                + "managed services do not give. Use row_security: policy (the default): temporary SELECT policies "
                + "for the replication role made by the tables' owner; nothing was changed", List.of());
    }
}
