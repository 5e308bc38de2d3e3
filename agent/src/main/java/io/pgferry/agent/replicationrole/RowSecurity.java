package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.TableRef;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * What row-level security lets the initial copy read. The subscription's table sync runs {@code COPY} on the
 * source as the role it logs in with, and PostgreSQL applies that role's SELECT policies to it without an error: a
 * table whose policies do not name the role arrives empty. Logical decoding of later changes is not filtered
 * (checked on PostgreSQL 14 and 17 sources), so only the copy is at stake. Reads the catalogs, nothing else: the
 * answer follows PostgreSQL's own rules (check_enable_rls and the policy combination of the rewriter) --
 * superusers and BYPASSRLS roles see every row; the owner (or a role with its privileges) too unless the table
 * has FORCE ROW LEVEL SECURITY; anyone else sees the rows that at least one permissive SELECT policy for it lets
 * through and that every restrictive one lets through. Only a permissive policy whose condition is literally
 * {@code true} is known to let every row through; any other condition may hide rows, so it counts as hiding.
 * Partitions are copied through their root, so the root's policies are the ones that count.
 */
public final class RowSecurity {
    /** The copy role's applicable policies are those naming PUBLIC or a role whose privileges it has. */
    private static final String TABLES = """
            WITH r AS (SELECT oid, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ?),
            p AS (
              SELECT pol.polrelid, pol.polname, pol.polpermissive,
                     coalesce(pg_get_expr(pol.polqual, pol.polrelid) = 'true', false) AS all_rows,
                     coalesce(pol.polname = ? AND pol.polcmd = 'r' AND pol.polpermissive
                              AND pol.polroles = ARRAY[(SELECT oid FROM r)], false) AS ours
              FROM pg_policy pol
              WHERE pol.polcmd IN ('r', '*')
                AND (0 = ANY (pol.polroles)
                     OR EXISTS (SELECT 1 FROM r, unnest(pol.polroles) pr
                                WHERE pr <> 0 AND pg_has_role(r.oid, pr, 'USAGE')))
            )
            SELECT t.nsp, t.rel, c.relforcerowsecurity, pg_get_userbyid(c.relowner),
                   EXISTS (SELECT 1 FROM r WHERE pg_has_role(r.oid, c.relowner, 'USAGE')),
                   EXISTS (SELECT 1 FROM p WHERE p.polrelid = c.oid AND p.polpermissive AND p.all_rows
                           AND NOT p.ours),
                   EXISTS (SELECT 1 FROM p WHERE p.polrelid = c.oid AND p.ours AND p.all_rows),
                   EXISTS (SELECT 1 FROM p WHERE p.polrelid = c.oid AND NOT p.polpermissive AND NOT p.all_rows),
                   o.rolsuper OR o.rolbypassrls,
                   (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                     OR pg_has_role(current_user, c.relowner, 'USAGE')
            FROM unnest(?::text[], ?::text[]) AS t(nsp, rel)
            JOIN pg_namespace n ON n.nspname = t.nsp
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.rel
            JOIN pg_roles o ON o.oid = c.relowner
            WHERE c.relrowsecurity
            ORDER BY 1, 2""";
    private static final String ROLE = "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = ?";
    /** FORCE ROW LEVEL SECURITY tables whose owner is subject to it (neither superuser nor BYPASSRLS). */
    private static final String FORCED = """
            SELECT t.nsp, t.rel
            FROM unnest(?::text[], ?::text[]) AS t(nsp, rel)
            JOIN pg_namespace n ON n.nspname = t.nsp
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = t.rel
            JOIN pg_roles o ON o.oid = c.relowner
            WHERE c.relforcerowsecurity AND NOT (o.rolsuper OR o.rolbypassrls)
            ORDER BY 1, 2""";
    private static final String AGENT_BYPASSES = """
            SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user""";
    private static final String AGENT = """
            SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = current_user""";
    /** pgferry's copy policies in this database: named and made for the migration's role. */
    private static final String COPY_POLICIES = """
            SELECT n.nspname, c.relname
            FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE pol.polname = ? ORDER BY 1, 2""";

    /** What the copy role reads of one table under row-level security. */
    public enum Access {
        /** every row: the role bypasses row security here, or a policy of the application lets everything through */
        ALL_ROWS,
        /** every row, through pgferry's temporary copy policy */
        COPY_POLICY,
        /** some rows may be hidden; a permissive copy policy would show them all */
        HIDDEN,
        /** some rows may be hidden by a restrictive policy, which no permissive policy can undo: only BYPASSRLS */
        RESTRICTED
    }

    /**
     * @param forced FORCE ROW LEVEL SECURITY: the owner is subject to the policies too
     * @param ownerBypasses the owner is superuser or BYPASSRLS (an apply worker acting as the owner may write it)
     * @param agentOwns the agent's own role may create policies on it (superuser, or has the owner's privileges)
     */
    public record Table(TableRef table, Access access, boolean forced, String owner, boolean ownerBypasses,
                        boolean agentOwns) {
        public boolean hidesRows() {
            return access == Access.HIDDEN || access == Access.RESTRICTED;
        }

        /** For findings and problems: the table, and why its rows are hidden or how they are shown. */
        public String describe() {
            return table.quoted() + switch (access) {
                case ALL_ROWS -> "";
                case COPY_POLICY -> " (through copy policy)";
                case HIDDEN -> forced ? " (FORCE ROW LEVEL SECURITY, owner " + owner + ")"
                        : " (row level security, owner " + owner + ")";
                case RESTRICTED -> " (a restrictive policy applies)";
            };
        }
    }

    private RowSecurity() {
    }

    /**
     * The tables with row security enabled among {@code tables}, as role {@code role} would read them if it had
     * neither SUPERUSER nor BYPASSRLS (the caller knows whether it has or will have them: {@link #bypasses}). A role
     * that does not exist yet reads as a new role would: member of nothing.
     *
     * @param copyPolicy the name pgferry gives its copy policies (the migration's role name)
     */
    public static List<Table> read(Connection c, String role, String copyPolicy, List<TableRef> tables)
            throws SQLException {
        List<Table> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(TABLES)) {
            ps.setString(1, role);
            ps.setString(2, copyPolicy);
            ps.setArray(3, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            ps.setArray(4, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    boolean forced = rs.getBoolean(3);
                    boolean owns = rs.getBoolean(5);
                    boolean openPolicy = rs.getBoolean(6);
                    boolean ours = rs.getBoolean(7);
                    boolean restrictive = rs.getBoolean(8);
                    Access access;
                    if (owns && !forced) {
                        access = Access.ALL_ROWS;
                    } else if (restrictive) {
                        access = Access.RESTRICTED;
                    } else if (openPolicy) {
                        access = Access.ALL_ROWS;
                    } else {
                        access = ours ? Access.COPY_POLICY : Access.HIDDEN;
                    }
                    out.add(new Table(new TableRef(rs.getString(1), rs.getString(2)), access, forced,
                            rs.getString(4), rs.getBoolean(9), rs.getBoolean(10)));
                }
            }
        }
        return out;
    }

    /** Whether the role exists and is superuser or BYPASSRLS. */
    public static boolean bypasses(Connection c, String role) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(ROLE)) {
            ps.setString(1, role);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getBoolean(1);
            }
        }
    }

    /**
     * Whether the agent's role may give a role BYPASSRLS: superusers may; from PostgreSQL 16 also a CREATEROLE role
     * that has BYPASSRLS itself. Managed services allow neither, hence the policy mode.
     */
    public static boolean agentMayGrantBypass(Connection c, int major) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(AGENT); ResultSet rs = ps.executeQuery()) {
            return rs.next() && (rs.getBoolean(1) || (major >= 16 && rs.getBoolean(2) && rs.getBoolean(3)));
        }
    }

    /**
     * The tables among {@code tables} that an apply worker writing as their owner could not write once their row
     * security is enabled: FORCE ROW LEVEL SECURITY with an owner that does not bypass it. From PostgreSQL 16 the
     * apply worker writes as the table's owner, and from 15 it refuses a table whose policies apply to whom it
     * writes as ("cannot replicate into relation with row-level security enabled").
     */
    public static List<TableRef> forcedOnOwner(Connection c, List<TableRef> tables) throws SQLException {
        List<TableRef> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(FORCED)) {
            ps.setArray(1, c.createArrayOf("text", tables.stream().map(TableRef::schema).toArray()));
            ps.setArray(2, c.createArrayOf("text", tables.stream().map(TableRef::name).toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }

    /** Whether any table of this database is FORCE ROW LEVEL SECURITY with an owner that does not bypass it. */
    public static boolean anyForcedOnOwner(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_class t JOIN pg_catalog.pg_roles o ON o.oid = t.relowner
                               WHERE t.relkind IN ('r', 'p') AND t.relrowsecurity AND t.relforcerowsecurity
                                 AND NOT o.rolsuper AND NOT o.rolbypassrls)""");
             ResultSet rs = ps.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /** Whether the agent's own role is superuser or BYPASSRLS. */
    public static boolean agentBypasses(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(AGENT_BYPASSES); ResultSet rs = ps.executeQuery()) {
            return rs.next() && rs.getBoolean(1);
        }
    }

    /** The tables of this database that carry pgferry's copy policy {@code name}. */
    public static List<TableRef> copyPolicies(Connection c, String name) throws SQLException {
        List<TableRef> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(COPY_POLICIES)) {
            ps.setString(1, name);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new TableRef(rs.getString(1), rs.getString(2)));
                }
            }
        }
        return out;
    }
}
