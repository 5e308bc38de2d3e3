package io.pgferry.agent.preflight;

import io.pgferry.agent.migration.ResolvedScope;
import io.pgferry.agent.migration.TableRef;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Objects the schema archive carries that need an object it does not: a column of a type, a default calling a function
 * or a sequence, a view reading a table, a foreign key to a table, in a schema (or an excluded table) outside the
 * scope. pg_restore cannot create them on a target that lacks what they need, and the schema apply would stop half way
 * through the migration's first changes. The source lists them ({@code facts.outside_dependencies}, each with the
 * needed object's address); the target looks each address up in its database ({@code pg_get_object_address}), since an
 * application may have created them there already.
 */
public final class OutsideDependencies {
    /**
     * @param object the object in scope, as PostgreSQL describes it
     * @param needs  the object outside the scope it needs
     * @param type   {@code needs}' address ({@code pg_identify_object_as_address}), for the target to look up
     */
    public record Dependency(String object, String needs, String type, List<String> names, List<String> args) {
        public Dependency {
            names = names == null ? List.of() : List.copyOf(names);
            args = args == null ? List.of() : List.copyOf(args);
        }

        public String describe() {
            return object + " needs " + needs;
        }
    }

    // pg_identify_object quotes the schema where it needs quoting: parse_ident gives back the name.
    // User objects only (OIDs from 16384), neither side an extension's member (extensions are checked on their own).
    // A default, rule, trigger, policy, constraint or index belongs to its table: that table says whether it is moved.
    private static final String QUERY = """
            WITH d AS (
              SELECT DISTINCT d.classid, d.objid, d.objsubid, d.refclassid, d.refobjid,
                     CASE d.classid
                       WHEN 'pg_class'::regclass THEN coalesce((SELECT i.indrelid FROM pg_index i
                                                                WHERE i.indexrelid = d.objid), d.objid)
                       WHEN 'pg_attrdef'::regclass THEN (SELECT a.adrelid FROM pg_attrdef a WHERE a.oid = d.objid)
                       WHEN 'pg_constraint'::regclass THEN (SELECT nullif(k.conrelid, 0) FROM pg_constraint k
                                                            WHERE k.oid = d.objid)
                       WHEN 'pg_trigger'::regclass THEN (SELECT t.tgrelid FROM pg_trigger t WHERE t.oid = d.objid)
                       WHEN 'pg_rewrite'::regclass THEN (SELECT r.ev_class FROM pg_rewrite r WHERE r.oid = d.objid)
                       WHEN 'pg_policy'::regclass THEN (SELECT p.polrelid FROM pg_policy p WHERE p.oid = d.objid)
                     END AS rel,
                     CASE d.refclassid
                       WHEN 'pg_class'::regclass THEN coalesce((SELECT i.indrelid FROM pg_index i
                                                                WHERE i.indexrelid = d.refobjid), d.refobjid)
                       WHEN 'pg_constraint'::regclass THEN (SELECT nullif(k.conrelid, 0) FROM pg_constraint k
                                                            WHERE k.oid = d.refobjid)
                     END AS refrel
              FROM pg_depend d
              WHERE d.deptype IN ('n', 'a') AND d.objid >= 16384 AND d.refobjid >= 16384
                AND d.classid IN ('pg_class'::regclass, 'pg_type'::regclass, 'pg_proc'::regclass,
                                  'pg_attrdef'::regclass, 'pg_constraint'::regclass, 'pg_trigger'::regclass,
                                  'pg_rewrite'::regclass, 'pg_policy'::regclass)
                -- a sequence OWNED BY an excluded table is dumped without that clause
                AND NOT (d.classid = 'pg_class'::regclass AND d.deptype = 'a'
                         AND (SELECT c.relkind FROM pg_class c WHERE c.oid = d.objid) = 'S')
                AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.deptype = 'e'
                                AND ((e.classid = d.refclassid AND e.objid = d.refobjid)
                                     OR (e.classid = d.classid AND e.objid = d.objid)))
            )
            SELECT pg_describe_object(d.classid, d.objid, d.objsubid),
                   pg_describe_object(d.refclassid, d.refobjid, 0),
                   coalesce(rn.nspname, (parse_ident((pg_identify_object(d.classid, d.objid, 0)).schema))[1]),
                   rc.relname, (parse_ident((pg_identify_object(d.refclassid, d.refobjid, 0)).schema))[1],
                   fn.nspname, fc.relname,
                   a.type, a.object_names, a.object_args
            FROM d
            LEFT JOIN pg_class rc ON rc.oid = d.rel LEFT JOIN pg_namespace rn ON rn.oid = rc.relnamespace
            LEFT JOIN pg_class fc ON fc.oid = d.refrel LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
            CROSS JOIN LATERAL pg_identify_object_as_address(d.refclassid, d.refobjid, 0) a
            ORDER BY 1, 2""";

    private OutsideDependencies() {
    }

    /** What the objects of the scope need from outside it, user objects only. */
    static List<Dependency> read(Connection c, ResolvedScope scope) throws SQLException {
        Set<String> schemas = new HashSet<>(scope.schemas());
        Set<TableRef> excluded = new HashSet<>(scope.excludedTables());
        List<Dependency> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        try (PreparedStatement st = c.prepareStatement(QUERY); ResultSet rs = st.executeQuery()) {
            while (rs.next()) {
                String schema = rs.getString(3);
                String rel = rs.getString(4);
                if (schema == null || !schemas.contains(schema)
                        || (rel != null && excluded.contains(new TableRef(schema, rel)))) {
                    continue;  // not carried by the archive
                }
                String refSchema = rs.getString(5);
                String refRelSchema = rs.getString(6);
                String refRel = rs.getString(7);
                boolean outsideSchema = refSchema != null && !schemas.contains(refSchema) && !isSystem(refSchema);
                boolean excludedTable = refRel != null && excluded.contains(new TableRef(refRelSchema, refRel))
                        && !(refRelSchema.equals(schema) && refRel.equals(rel));
                if (!outsideSchema && !excludedTable) {
                    continue;
                }
                Dependency dep = new Dependency(rs.getString(1), rs.getString(2), rs.getString(8),
                        strings(rs, 9), strings(rs, 10));
                if (seen.add(dep.describe())) {
                    out.add(dep);
                }
            }
        }
        return out;
    }

    /** Those whose needed object the target database lacks (all of them when it does not exist yet). */
    static List<String> missing(Connection c, List<Dependency> deps, boolean databaseExists) throws SQLException {
        List<String> out = new ArrayList<>();
        for (Dependency d : deps) {
            if (!databaseExists || !exists(c, d)) {
                out.add(d.describe());
            }
        }
        return out;
    }

    private static boolean exists(Connection c, Dependency d) throws SQLException {
        Savepoint sp = c.getAutoCommit() ? null : c.setSavepoint();
        try (PreparedStatement st = c.prepareStatement("SELECT pg_get_object_address(?, ?::text[], ?::text[])")) {
            st.setString(1, d.type());
            st.setArray(2, c.createArrayOf("text", d.names().toArray()));
            st.setArray(3, c.createArrayOf("text", d.args().toArray()));
            st.executeQuery().close();
            return true;
        } catch (SQLException e) {
            if (sp != null) {
                c.rollback(sp);
            }
            // undefined_* (42704, 42883, 42P01, 3F000) and the like: not there. Others are real failures.
            String state = e.getSQLState();
            if (state != null && (state.startsWith("42") || state.equals("3F000") || state.equals("22023"))) {
                return false;
            }
            throw e;
        } finally {
            if (sp != null) {
                c.releaseSavepoint(sp);
            }
        }
    }

    private static boolean isSystem(String schema) {
        return schema.equals("pg_catalog") || schema.equals("information_schema") || schema.startsWith("pg_toast")
                || schema.startsWith("pg_temp");
    }

    private static List<String> strings(ResultSet rs, int column) throws SQLException {
        java.sql.Array a = rs.getArray(column);
        return a == null ? List.of() : Arrays.asList((String[]) a.getArray());
    }
}
