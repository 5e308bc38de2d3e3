package io.pgferry.agent.replicationrole;

import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * What the agent's own role lacks to make the replication role: a non-superuser (a managed service's admin role) may
 * create or change a REPLICATION role only from PostgreSQL 16, with CREATEROLE and REPLICATION itself (and ADMIN
 * OPTION on a role it did not create); and it may grant only what it holds WITH GRANT OPTION (owner, or member of the
 * owner). PostgreSQL answers a GRANT of what the grantor holds without grant option with a warning and grants nothing:
 * the copy would then fail on the first table with "permission denied", long after this step said it was done.
 */
public final class AgentRights {
    private static final String AGENT = """
            SELECT r.rolsuper, r.rolcreaterole, r.rolreplication, current_user,
                   EXISTS (SELECT 1 FROM pg_roles x WHERE x.rolname = ?),
                   EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles x ON x.oid = m.roleid
                           WHERE x.rolname = ? AND m.member = r.oid AND m.admin_option)
            FROM pg_roles r WHERE r.rolname = current_user""";
    /** Objects the role cannot use yet (or all, when it does not exist) that the agent may not grant. */
    private static final String UNGRANTABLE = """
            SELECT k, s, n FROM unnest(?::text[], ?::text[], ?::text[]) AS o(k, s, n)
            WHERE CASE k
                WHEN 'schema' THEN NOT has_schema_privilege(s, 'USAGE WITH GRANT OPTION')
                     AND NOT (? AND has_schema_privilege(?, s, 'USAGE'))
                WHEN 'table' THEN NOT has_table_privilege(format('%I.%I', s, n), 'SELECT WITH GRANT OPTION')
                     AND NOT (? AND has_table_privilege(?, format('%I.%I', s, n), 'SELECT'))
                ELSE NOT has_sequence_privilege(format('%I.%I', s, n), 'SELECT WITH GRANT OPTION')
                     AND NOT (? AND has_sequence_privilege(?, format('%I.%I', s, n), 'SELECT'))
            END""";

    private AgentRights() {
    }

    /** What is missing, one phrase each; empty when the agent may make the role {@code role} for this scope. */
    public static List<String> lacking(Connection c, int major, String role, ResolvedScope scope) throws SQLException {
        return lacking(c, major, role, RoleGrants.wanted(c, scope));
    }

    /** As {@link #lacking(Connection, int, String, ResolvedScope)}, for the objects the role is to read. */
    static List<String> lacking(Connection c, int major, String role, RoleGrants.Wanted wanted) throws SQLException {
        List<String> out = new ArrayList<>();
        boolean exists;
        String agentName;
        try (PreparedStatement st = c.prepareStatement(AGENT)) {
            st.setString(1, role);
            st.setString(2, role);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                if (rs.getBoolean(1)) {
                    return out;
                }
                agentName = rs.getString(4);
                String agent = Sql.ident(agentName);
                exists = rs.getBoolean(5);
                String verb = exists ? "change" : "create";
                if (major < 16 && !providerAdmin(c)) {
                    out.add("superuser: " + agent + " may not " + verb + " the REPLICATION role " + Sql.ident(role)
                            + " (PostgreSQL " + major + " lets only superusers)");
                } else if (major >= 16) {
                    if (!rs.getBoolean(2)) {
                        out.add("CREATEROLE: " + agent + " may not " + verb + " role " + Sql.ident(role));
                    }
                    if (!rs.getBoolean(3)) {
                        out.add("REPLICATION: " + agent + " may give role " + Sql.ident(role) + " only attributes it "
                                + "has itself");
                    }
                    if (exists && !rs.getBoolean(6)) {
                        out.add("ADMIN OPTION on role " + Sql.ident(role) + ": " + agent + " did not create it");
                    }
                }
            }
        }
        List<String> kinds = new ArrayList<>();
        List<String> schemas = new ArrayList<>();
        List<String> names = new ArrayList<>();
        wanted.schemas().forEach(s -> add(kinds, schemas, names, "schema", s, ""));
        wanted.tables().forEach(t -> add(kinds, schemas, names, "table", t.schema(), t.name()));
        wanted.sequences().forEach(t -> add(kinds, schemas, names, "sequence", t.schema(), t.name()));
        try (PreparedStatement st = c.prepareStatement(UNGRANTABLE)) {
            st.setArray(1, c.createArrayOf("text", kinds.toArray()));
            st.setArray(2, c.createArrayOf("text", schemas.toArray()));
            st.setArray(3, c.createArrayOf("text", names.toArray()));
            for (int i = 0; i < 3; i++) {
                // A role that does not exist yet cannot be asked about: the agent's own stands in, never counted.
                st.setBoolean(4 + 2 * i, exists);
                st.setString(5 + 2 * i, exists ? role : agentName);
            }
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String kind = rs.getString(1);
                    out.add((kind.equals("schema") ? "USAGE on schema " + Sql.ident(rs.getString(2))
                            : "SELECT on " + kind + " " + new TableRef(rs.getString(2), rs.getString(3)).quoted())
                            + " WITH GRANT OPTION");
                }
            }
        }
        return out;
    }

    /**
     * What else the source's steps need of a non-superuser agent: ownership (membership in the owner) of each table
     * in scope for the publication and its replica identities, and of the database for the fence at the cutover.
     */
    public static List<String> notOwned(Connection c, ResolvedScope scope) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("""
                SELECT n.nspname, c.relname, pg_get_userbyid(c.relowner)
                FROM unnest(?::text[], ?::text[]) AS r(nsp, rel)
                JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel
                WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                  AND NOT pg_has_role(c.relowner, 'USAGE')
                UNION ALL
                SELECT NULL, d.datname, pg_get_userbyid(d.datdba) FROM pg_database d
                WHERE d.datname = current_database() AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                  AND NOT pg_has_role(d.datdba, 'USAGE')""")) {
            st.setArray(1, c.createArrayOf("text", scope.tableRefs().stream().map(TableRef::schema).toArray()));
            st.setArray(2, c.createArrayOf("text", scope.tableRefs().stream().map(TableRef::name).toArray()));
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) == null
                            ? "ownership of database " + Sql.ident(rs.getString(2)) + " (owner " + Sql.ident(rs.getString(3))
                            + "): the cutover's fence sets default_transaction_read_only on it"
                            : "ownership of table " + new TableRef(rs.getString(1), rs.getString(2)).quoted() + " (owner "
                            + Sql.ident(rs.getString(3)) + "): the publication takes only tables it owns");
                }
            }
        }
        return out;
    }

    /**
     * The admin role of a managed service (Amazon RDS and Aurora, Cloud SQL, Azure, AlloyDB): their PostgreSQL lets it
     * do some of what is a superuser's elsewhere (CREATE SUBSCRIPTION, REPLICATION roles), each its own way; the
     * step's own answer then says what the provider refused.
     */
    public static boolean providerAdmin(Connection c) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN "
                + "('rds_superuser', 'cloudsqlsuperuser', 'azure_pg_admin', 'alloydbsuperuser') "
                + "AND pg_has_role(oid, 'MEMBER'))"); ResultSet rs = st.executeQuery()) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    /**
     * What the agent's role lacks to CREATE SUBSCRIPTION in {@code database} (which may not exist yet: then the agent
     * creates and owns it): a superuser's right before 16, unless a managed service's admin role; from 16 membership in
     * pg_create_subscription and CREATE on the database.
     */
    public static List<String> cannotSubscribe(Connection c, int major, String database) throws SQLException {
        String canSubscribe = major >= 16 ? "pg_has_role('pg_create_subscription', 'USAGE')" : "false";
        List<String> lacking = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement("SELECT r.rolsuper, " + canSubscribe + ", "
                + "coalesce(has_database_privilege(d.oid, 'CREATE'), true), current_user FROM pg_roles r "
                + "LEFT JOIN pg_database d ON d.datname = ? WHERE r.rolname = current_user")) {
            st.setString(1, database);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                if (rs.getBoolean(1)) {
                    return lacking;
                }
                String agent = Sql.ident(rs.getString(4));
                if (major < 16) {
                    if (!providerAdmin(c)) {
                        lacking.add("superuser: " + agent + " may not CREATE SUBSCRIPTION (PostgreSQL " + major
                                + " lets only superusers)");
                    }
                } else {
                    if (!rs.getBoolean(2)) {
                        lacking.add("membership in pg_create_subscription: " + agent + " may not CREATE SUBSCRIPTION");
                    }
                    if (!rs.getBoolean(3)) {
                        lacking.add("CREATE on database " + Sql.ident(database) + ": a subscription needs it");
                    }
                }
            }
        }
        return lacking;
    }

    /** How to give the agent's role what {@link #cannotSubscribe} names. */
    public static final String SUBSCRIBE_FIX = "run the agent as a superuser or a managed service's admin role (before "
            + "PostgreSQL 16 the only ways); from 16, GRANT pg_create_subscription TO <agent role> and GRANT CREATE "
            + "ON DATABASE to it";

    /** How to give the agent's role what {@link #lacking} names. */
    public static String fix(String role) {
        return "run the source agent as a superuser; or give its role what is missing: on PostgreSQL 14/15 only a "
                + "superuser may create or change " + Sql.ident(role) + "; from 16, CREATEROLE and REPLICATION (and "
                + "ADMIN OPTION on the role when someone else made it); for schemas, tables and sequences, membership "
                + "in their owner (GRANT <owner> TO <agent role>; for tables and the database it is the only way) or GRANT "
                + ".. WITH GRANT OPTION";
    }

    private static void add(List<String> kinds, List<String> schemas, List<String> names, String kind, String schema,
                            String name) {
        kinds.add(kind);
        schemas.add(schema);
        names.add(name);
    }
}
