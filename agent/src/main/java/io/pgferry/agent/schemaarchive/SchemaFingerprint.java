package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.state.StateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The source schema of a migration's scope as one canonical catalog read: every table (and partition), its columns
 * with types, nullability, defaults, identity and generation, its constraints and its indexes, each as
 * {@code object -> definition} from PostgreSQL's own deparsers. Taken when the schema archive is first made and
 * kept in {@code state_dir/{m}/schema.fingerprint.json}; the ready check takes it again and names every object
 * that differs: DDL since the copy would break replication or leave the target's schema behind.
 */
public record SchemaFingerprint(String sha256, Map<String, String> objects) {
    public static final String FILE = "schema.fingerprint.json";

    private static final String CATALOG = """
            WITH t AS (
              SELECT c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS ident, n.nspname, c.relname,
                     c.relkind
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p') AND n.nspname = ANY (?)
            )
            SELECT 'table ' || t.ident, t.relkind::text, t.nspname, t.relname FROM t
            UNION ALL
            SELECT 'column ' || t.ident || '.' || quote_ident(a.attname),
                   format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                   || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
                   || ' identity=' || a.attidentity::text || ' generated=' || a.attgenerated::text || ' #' || a.attnum::text,
                   t.nspname, t.relname
            FROM t JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            UNION ALL
            SELECT 'constraint ' || t.ident || '.' || quote_ident(k.conname), pg_get_constraintdef(k.oid), t.nspname,
                   t.relname
            FROM t JOIN pg_constraint k ON k.conrelid = t.oid
            UNION ALL
            SELECT 'index ' || t.ident || '.' || quote_ident(ic.relname), pg_get_indexdef(i.indexrelid), t.nspname,
                   t.relname
            FROM t JOIN pg_index i ON i.indrelid = t.oid JOIN pg_class ic ON ic.oid = i.indexrelid""";

    public static SchemaFingerprint compute(Connection c, List<String> schemas, List<TableRef> excluded)
            throws SQLException {
        Set<TableRef> out = new HashSet<>(excluded);
        Map<String, String> objects = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement(CATALOG)) {
            ps.setArray(1, c.createArrayOf("text", schemas.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (!out.contains(new TableRef(rs.getString(3), rs.getString(4)))) {
                        objects.put(rs.getString(1), rs.getString(2));
                    }
                }
            }
        }
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            objects.forEach((k, v) -> md.update((k + "\0" + v + "\n").getBytes(StandardCharsets.UTF_8)));
            return new SchemaFingerprint(HexFormat.of().formatHex(md.digest()), objects);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The objects added, dropped or changed from {@code this} (stored) to {@code now}, each with what happened. */
    public List<String> differences(SchemaFingerprint now) {
        Set<String> keys = new TreeSet<>(objects.keySet());
        keys.addAll(now.objects.keySet());
        List<String> diff = new ArrayList<>();
        for (String k : keys) {
            String was = objects.get(k);
            String is = now.objects.get(k);
            if (was == null) {
                diff.add(k + " (added)");
            } else if (is == null) {
                diff.add(k + " (dropped)");
            } else if (!was.equals(is)) {
                diff.add(k + " (changed: " + was + " -> " + is + ")");
            }
        }
        return diff;
    }

    private static Path file(Path stateDir, MigrationId migration) {
        return stateDir.resolve(migration.value()).resolve(FILE);
    }

    public static Optional<SchemaFingerprint> load(Path stateDir, MigrationId migration) {
        Path f = file(stateDir, migration);
        if (!StateFiles.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.MAPPER.readValue(f.toFile(), SchemaFingerprint.class));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** A catalog read of the whole scope (at 20,000 tables, 120,000 objects): done only when none is stored yet. */
    public interface Computation {
        SchemaFingerprint compute() throws SQLException;
    }

    /**
     * Keeps the first fingerprint: it describes the schema the target was built from. A later archive (a rerun of
     * the migration after DDL) must not hide that DDL; after checking the target, remove the file to accept it.
     */
    public static boolean storeIfAbsent(Path stateDir, MigrationId migration, Computation fingerprint)
            throws SQLException {
        Path f = file(stateDir, migration);
        if (load(stateDir, migration).isPresent()) {
            return false;
        }
        try {
            StateFiles.write(f, Json.MAPPER.writeValueAsBytes(fingerprint.compute()));
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store the schema fingerprint in " + f.getParent(), e);
        }
    }
}
