package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.privilegeset.PrivilegeCatalog;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.roles.RoleCatalog;
import io.pgferry.agent.roles.SourceRole;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The source's roles and the code that runs with someone's rights: which roles the database needs (the target
 * preflight compares them with its own), whose passwords cannot move, and which objects run user code with their
 * owner's or their caller's rights (docs/findings.md, "Roles and privileges").
 */
final class SourcePrivilegeChecks {
    /** Tables of the schemas in scope, less those left out; {@code %s} is the table alias. */
    private static final String IN_SCOPE = """
            n.nspname = ANY (?::text[]) AND NOT EXISTS (SELECT 1 FROM unnest(?::text[], ?::text[]) AS x(nsp, rel)
                                                      WHERE x.nsp = n.nspname AND x.rel = %s.relname)""";
    private static final String NOT_EXTENSION = """
            NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e WHERE e.deptype = 'e' AND e.classid = %s
                        AND e.objid = %s)""";
    private static final String SECURITY_DEFINER = """
            SELECT format('%%I.%%I(%%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
                   r.rolname, r.rolsuper, false
              FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
              JOIN pg_catalog.pg_roles r ON r.oid = p.proowner
             WHERE p.prosecdef AND n.nspname = ANY (?::text[]) AND %s
             ORDER BY 1""".formatted(NOT_EXTENSION.formatted("'pg_catalog.pg_proc'::regclass", "p.oid"));
    /**
     * Objects whose code runs during or after the move: materialized views (refreshed), indexes with expressions or
     * predicates calling functions that are not PostgreSQL's (built, and evaluated on every applied row), triggers,
     * and defaults and generated columns calling such
     * functions. The last column says whether it runs under the subscription's apply: never a trigger, which the
     * apply worker's side holds tempered while it applies (migration.ApplyTriggers).
     */
    private static final String CODE = """
            SELECT 'materialized view ' || format('%%I.%%I', n.nspname, c.relname), r.rolname, r.rolsuper, false
              FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
             WHERE c.relkind = 'm' AND %1$s
            UNION
            SELECT 'index ' || format('%%I.%%I', n.nspname, i.relname) || ' on ' || format('%%I', c.relname)
                   || ' calls ' || string_agg(DISTINCT format('%%I.%%I', pn.nspname, p.proname), ', '),
                   r.rolname, r.rolsuper, true
              FROM pg_catalog.pg_index x JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
              JOIN pg_catalog.pg_class c ON c.oid = x.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = x.indexrelid
                   AND d.refclassid = 'pg_catalog.pg_proc'::regclass
              JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
             WHERE pn.nspname <> 'pg_catalog' AND %1$s
             GROUP BY n.nspname, i.relname, c.relname, r.rolname, r.rolsuper
            UNION
            SELECT 'trigger ' || format('%%I', t.tgname) || ' on ' || format('%%I.%%I', n.nspname, c.relname)
                   || CASE t.tgenabled WHEN 'A' THEN ' (ENABLE ALWAYS)' WHEN 'R' THEN ' (ENABLE REPLICA)' ELSE '' END,
                   r.rolname, r.rolsuper, false
              FROM pg_catalog.pg_trigger t JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
             WHERE NOT t.tgisinternal AND %1$s
            UNION
            SELECT CASE WHEN a.attgenerated <> '' THEN 'generated column ' ELSE 'default of ' END
                   || format('%%I.%%I.%%I', n.nspname, c.relname, a.attname) || ' calls '
                   || string_agg(DISTINCT format('%%I.%%I', pn.nspname, p.proname), ', '),
                   r.rolname, r.rolsuper, a.attgenerated <> ''
              FROM pg_catalog.pg_attrdef ad
              JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
              JOIN pg_catalog.pg_class c ON c.oid = ad.adrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_catalog.pg_roles r ON r.oid = c.relowner
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
                   AND d.refclassid = 'pg_catalog.pg_proc'::regclass
              JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
             WHERE pn.nspname <> 'pg_catalog' AND %1$s
             GROUP BY n.nspname, c.relname, a.attname, a.attgenerated, r.rolname, r.rolsuper
             ORDER BY 1""".formatted(IN_SCOPE.formatted("c"));

    private record Code(String object, String owner, boolean superuser, boolean underApply) {
    }

    private final Connection c;
    private final PreflightRequest request;
    private final Findings out;

    SourcePrivilegeChecks(Connection c, PreflightRequest request, Findings out) {
        this.c = c;
        this.request = request;
        this.out = out;
    }

    void run(int major, ResolvedScope scope) throws SQLException {
        boolean privileges = request.privileges();
        if (privileges) {
            roles(major, scope);
        } else {
            out.note("privileges off: owners and privileges do not move; every object on the target belongs to the "
                    + "target agent's role and carries no grant");
        }
        List<Code> definers = query(SECURITY_DEFINER, false, scope);
        List<Code> code = query(CODE, true, scope);
        report(definers, "security_definer_functions", privileges, "these functions are SECURITY DEFINER: "
                + "whoever calls them acts with their owner's rights");
        report(code, "code_owned_by_non_superusers", privileges, "the code of these objects runs with their "
                + "(or their table's) owner's rights when a materialized view is refreshed or an index is built, "
                + "and as the writing role when a row is written");
        out.fact("apply_code", code.stream().filter(x -> x.underApply() && !x.superuser())
                .map(x -> x.object() + " (owner " + x.owner() + ")").toList());
    }

    private void roles(int major, ResolvedScope scope) throws SQLException {
        PrivilegeSet set = PrivilegeCatalog.read(c, major, scope.schemas(), scope.excludedTables());
        RoleCatalog.Result roles = RoleCatalog.read(c, major, set, false);
        out.fact("roles", roles.roles());
        out.fact("passwords_read", roles.passwordsRead());
        List<String> md5 = roles.roles().stream().filter(r -> r.login() && r.password().equals("md5"))
                .map(SourceRole::name).toList();
        if (!md5.isEmpty()) {
            out.warning("role_password_not_movable", md5, "these login roles have md5 password hashes, which cannot "
                    + "become SCRAM verifiers: the roles step creates them on the target without a password",
                    "on the source, SET password_encryption = 'scram-sha-256' and set their passwords again "
                    + "(ALTER ROLE .. PASSWORD) before the roles step; or set them on the target afterwards");
        }
        List<String> logins = roles.roles().stream().filter(SourceRole::login).map(SourceRole::name).toList();
        if (!roles.passwordsRead() && !logins.isEmpty()) {
            out.warning("role_password_not_movable", logins, "the agent's role cannot read pg_authid (it is not a "
                    + "superuser, as on managed services), so these login roles' passwords cannot be carried: the "
                    + "roles step creates missing ones without a password", "set their passwords on the target "
                    + "(ALTER ROLE .. PASSWORD) after the roles step, or run the source agent as a superuser");
        }
    }

    /**
     * With owners moved, code keeps exactly its source rights on the target: reported for review. Without
     * (privileges off) it would belong to the target agent's role, a superuser's rights for code a non-superuser
     * wrote: an error, before anything runs.
     */
    private void report(List<Code> found, String code, boolean privileges, String what) {
        List<String> others = found.stream().filter(x -> !x.superuser())
                .map(x -> x.object() + " (owner " + x.owner() + ")").toList();
        if (others.isEmpty()) {
            return;
        }
        if (privileges) {
            out.warning(code, others, what + ". They belong to non-superusers, and move with their owners (through "
                    + "the role map), so on the target they keep exactly the rights they have here", "review them: "
                    + "they are the objects through which a role acts with another's rights");
        } else {
            out.error(code, others, what + ". They belong to non-superusers here; with privileges off they would "
                    + "belong to the target agent's role there, and run with its rights (a superuser's, typically)",
                    "move owners and privileges (privileges: true, the default), or change or drop these objects");
        }
    }

    private List<Code> query(String sql, boolean tables, ResolvedScope scope) throws SQLException {
        List<Code> found = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            int n = ps.getParameterMetaData().getParameterCount();
            for (int i = 0; i < n; i += tables ? 3 : 1) {
                ps.setArray(i + 1, c.createArrayOf("text", scope.schemas().toArray()));
                if (tables) {
                    ps.setArray(i + 2, c.createArrayOf("text",
                            scope.excludedTables().stream().map(TableRef::schema).toArray()));
                    ps.setArray(i + 3, c.createArrayOf("text",
                            scope.excludedTables().stream().map(TableRef::name).toArray()));
                }
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    found.add(new Code(rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4)));
                }
            }
        }
        return found;
    }
}
