package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.replicationrole.RowSecurity;
import io.pgferry.agent.replicationrole.RowSecurityMode;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * Source side: tables whose row-level security would hide rows from the initial copy (it reads them as the role
 * the subscription logs in with, and PostgreSQL filters its COPY silently), and whether the chosen
 * {@code row_security} fix covers them; and FORCE ROW LEVEL SECURITY tables an apply worker acting as their owner
 * could not write.
 */
final class RowSecurityCheck {
    private final Connection c;
    private final String name;
    private final PreflightRequest request;
    private final Findings out;
    private final int major;

    RowSecurityCheck(Connection c, String name, PreflightRequest request, Findings out, int major) {
        this.c = c;
        this.name = name;
        this.request = request;
        this.out = out;
        this.major = major;
    }

    void run(List<TableRef> tables) throws SQLException {
        String copyRole = request.subscriptionUser() == null ? name : request.subscriptionUser();
        boolean ownRole = copyRole.equals(name);
        RowSecurityMode mode = request.rowSecurityMode();
        List<RowSecurity.Table> secured = RowSecurity.read(c, copyRole, name, tables);
        out.fact("row_security_tables", secured.size());
        apply(secured);
        countable(secured);
        List<String> throughPolicy = secured.stream().filter(t -> t.access() == RowSecurity.Access.COPY_POLICY)
                .map(t -> t.table().quoted()).toList();
        if (!throughPolicy.isEmpty()) {
            out.note("the copy reads " + String.join(", ", throughPolicy) + " through pgferry's temporary copy "
                    + "policy " + Sql.ident(name) + " (removed once the copy is proven, or by cleanup)");
        }
        List<String> hidden = secured.stream().filter(RowSecurity.Table::hidesRows).map(RowSecurity.Table::describe)
                .toList();
        if (hidden.isEmpty()) {
            return;
        }
        String why = "the initial copy reads each table as " + Sql.ident(copyRole) + ", and PostgreSQL applies "
                + "row-level security to that COPY without an error: these tables would arrive with fewer rows (or "
                + "none), and streaming would then skip every UPDATE and DELETE of the missing rows";
        if (!ownRole) {
            if (RowSecurity.bypasses(c, copyRole)) {
                return;
            }
            out.error("row_security_hides_rows", hidden, why + " (subscription_user is " + Sql.ident(copyRole)
                    + ", a role pgferry does not manage)", "leave subscription_user empty: the copy then runs as "
                    + Sql.ident(name) + ", which the replication_role step lets read every row; or ALTER ROLE "
                    + Sql.ident(copyRole) + " BYPASSRLS (superuser); or leave the tables out (exclude_tables)");
            return;
        }
        switch (mode) {
            case NONE -> out.error("row_security_hides_rows", hidden, why + " (row_security: none)",
                    "set row_security to policy (temporary SELECT policies for " + Sql.ident(name) + ", made and "
                    + "removed by pgferry; works without superuser) or bypassrls (superuser agent); or leave the "
                    + "tables out (exclude_tables)");
            case BYPASSRLS -> {
                if (RowSecurity.agentMayGrantBypass(c, major)) {
                    out.warning("row_security_hides_rows", hidden, why + "; as asked (row_security: bypassrls), the "
                            + "replication_role step gives " + Sql.ident(name) + " BYPASSRLS until the copy is "
                            + "proven", "nothing to do");
                } else {
                    out.error("row_security_hides_rows", hidden, why + "; row_security is bypassrls, but the agent's "
                            + "role may not grant BYPASSRLS (it needs superuser; managed services do not allow it)",
                            "set row_security to policy (the default: temporary SELECT policies made by the tables' "
                            + "owner), or run the agent as a superuser");
                }
            }
            case POLICY -> policy(secured, why);
        }
    }

    private void policy(List<RowSecurity.Table> secured, String why) throws SQLException {
        boolean mayBypass = RowSecurity.agentMayGrantBypass(c, major);
        List<String> restricted = secured.stream().filter(t -> t.access() == RowSecurity.Access.RESTRICTED)
                .map(RowSecurity.Table::describe).toList();
        List<String> notOwned = secured.stream().filter(t -> t.access() == RowSecurity.Access.HIDDEN
                && !t.agentOwns()).map(t -> t.table().quoted() + " (owner " + t.owner() + ")").toList();
        List<String> covered = secured.stream().filter(t -> t.access() == RowSecurity.Access.COPY_POLICY
                || (t.access() == RowSecurity.Access.HIDDEN && t.agentOwns())).map(t -> t.table().quoted()).toList();
        String bypass = mayBypass ? "set row_security to bypassrls (the agent is allowed to grant it)"
                : "run the agent as a superuser and set row_security to bypassrls";
        if (!restricted.isEmpty()) {
            out.error("row_security_hides_rows", restricted, why + "; a restrictive policy applies to "
                    + Sql.ident(name) + ", and no permissive policy can undo it", bypass + "; or leave the tables "
                    + "out (exclude_tables)");
        }
        if (!notOwned.isEmpty()) {
            out.error("row_security_hides_rows", notOwned, why + "; only a table's owner may create the temporary "
                    + "copy policy, and the agent's role does not have the owner's privileges", "GRANT <owner> TO "
                    + "<agent role> (then the replication_role step makes the policy); or " + bypass + "; or leave "
                    + "the tables out (exclude_tables)");
        }
        if (!covered.isEmpty()) {
            out.warning("row_security_hides_rows", covered, why + "; as configured (row_security: policy), the "
                    + "replication_role step creates on each a temporary policy " + Sql.ident(name) + " (FOR SELECT "
                    + "TO " + Sql.ident(name) + " USING (true)) and the sync_status step removes it once every "
                    + "table's rows are proven; cleanup removes any left", "nothing to do");
        }
    }

    /**
     * The row comparison counts with row_security = off as the agent's role: where row security applies to that role
     * (not superuser nor BYPASSRLS, and not the owner - or the owner of a FORCE table), a count is an error.
     */
    private void countable(List<RowSecurity.Table> secured) throws SQLException {
        if (secured.isEmpty() || RowSecurity.agentBypasses(c)) {
            return;
        }
        List<String> subject = secured.stream().filter(t -> !t.agentOwns() || t.forced())
                .map(RowSecurity.Table::describe).toList();
        if (!subject.isEmpty()) {
            out.warning("rows_not_countable", subject, "row-level security applies to the agent's own role on these "
                    + "tables, so it cannot count their rows: the row comparison of sync_status and ready_check would "
                    + "stop there (rows_not_countable) rather than trust a short count",
                    "run the agent as a superuser or a BYPASSRLS role, or as the tables' owner (without FORCE ROW "
                    + "LEVEL SECURITY); or turn the comparison off (pgferry_sync_row_counts, pgferry_cutover_row_counts: "
                    + "the copy is then not proven)");
        }
    }

    /**
     * From PostgreSQL 16 an apply worker writes as the table's owner, and from 15 it refuses to write a table whose
     * row-level security applies to the role it writes as: a FORCE table whose owner does not bypass row security.
     */
    private void apply(List<RowSecurity.Table> secured) {
        List<String> forced = secured.stream().filter(t -> t.forced() && !t.ownerBypasses())
                .map(t -> t.table().quoted() + " (owner " + t.owner() + ")").toList();
        if (!forced.isEmpty()) {
            out.warning("row_security_forced", forced, "these tables have FORCE ROW LEVEL SECURITY and an owner "
                    + "without BYPASSRLS: a PostgreSQL 15+ subscription whose apply worker writes as that owner (16+ "
                    + "does by default) stops with \"cannot replicate into relation with row-level security enabled\". "
                    + "pgferry's reverse stream into this database applies as the agent's role instead (run_as_owner) "
                    + "when that role bypasses row security (superuser); the forward stream is safe as long as the "
                    + "target's copy of the table belongs to the target agent's role",
                    "nothing for the copy. Without a superuser agent here, keep a rollback possible by ALTER ROLE "
                    + "<owner> BYPASSRLS for the migration's duration, or ALTER TABLE .. NO FORCE ROW LEVEL SECURITY "
                    + "while it runs; `status` shows apply errors of a stream that stopped");
        }
    }
}
