package io.pgferry.agent.migration;

import com.fasterxml.jackson.core.type.TypeReference;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.sql.Sql;
import io.pgferry.agent.state.StateFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Triggers that fire on the rows a subscription applies ({@code ENABLE ALWAYS}, {@code ENABLE REPLICA}), tempered
 * while this server is a subscriber. The publisher fired them already and its stream carries what they
 * wrote: fired again by the apply worker, they write it twice (an audit row twice, or a duplicate key that stops the
 * stream). ALWAYS becomes plain ENABLE (it still fires for this server's own clients, as ALWAYS did), REPLICA becomes
 * DISABLE (it fires only for an apply worker); when the server stops being a subscriber, each gets back what it was.
 *
 * <p>{@code state_dir/{m}/apply_triggers-<hash of the database name>.json} keeps what they were: the catalog keeps only
 * the current state. It is written before the ALTER TABLEs run, so a crash between the two leaves a record of a change
 * that did not happen (restoring it is a no-op), never a change without a record; the first original of each wins. A
 * partition's clone of a partitioned table's trigger follows its parent's ALTER TABLE. Rules need nothing: the apply
 * worker (and the table sync's COPY) never runs the rewriter.
 */
public final class ApplyTriggers {
    public static final String FILE_PREFIX = "apply_triggers-";

    /** @param enabled the catalog's state: {@code O} (origin), {@code A} (always), {@code R} (replica), {@code D} */
    public record Firing(String schema, String table, String name, String enabled) {
        public Firing {
            Names.require("schema", schema);
            Names.require("table", table);
            Names.require("name", name);
            clause(enabled);
        }

        TableRef tableRef() {
            return new TableRef(schema, table);
        }

        List<String> key() {
            return List.of(schema, table, name);
        }

        /** What it is while this server applies a stream. */
        String tempered() {
            return "A".equals(enabled) ? "O" : "D";
        }

        String alter(String state) {
            return "ALTER TABLE " + Sql.qualified(schema, table) + " " + clause(state) + " TRIGGER " + Sql.ident(name);
        }

        private static String clause(String state) {
            return switch (state == null ? "" : state) {
                case "O" -> "ENABLE";
                case "A" -> "ENABLE ALWAYS";
                case "R" -> "ENABLE REPLICA";
                case "D" -> "DISABLE";
                default -> throw new IllegalArgumentException("enabled must be O, A, R or D, got " + state);
            };
        }
    }

    // Top-level triggers only: a partition's clone follows its parent.
    private static final String STATES = """
            SELECT n.nspname, c.relname, t.tgname, t.tgenabled::text
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT t.tgisinternal AND t.tgparentid = 0
              AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'""";

    private final Path file;

    /** One record per database: one agent may serve both sides of a migration within one server. */
    public ApplyTriggers(Path stateDir, MigrationId migration, String database) {
        this.file = StateFiles.perDatabase(stateDir.resolve(migration.value()), FILE_PREFIX, database);
    }

    /** Every user trigger of this database, with its state now. */
    static Map<List<String>, Firing> states(Connection c) throws SQLException {
        Map<List<String>, Firing> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(STATES)) {
            while (rs.next()) {
                Firing f = new Firing(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4));
                out.put(f.key(), f);
            }
        }
        return out;
    }

    /**
     * The triggers that an apply worker would fire, as they are now, on {@code tables} and their partitions
     * (rows applied to a partitioned table are written into its partitions).
     */
    public static List<Firing> firing(Connection c, Predicate<TableRef> tables) throws SQLException {
        List<Firing> out = new ArrayList<>();
        for (Firing f : states(c).values()) {
            if (("A".equals(f.enabled()) || "R".equals(f.enabled())) && inScope(c, f.tableRef(), tables)) {
                out.add(f);
            }
        }
        return out;
    }

    private static boolean inScope(Connection c, TableRef table, Predicate<TableRef> tables) throws SQLException {
        if (tables.test(table)) {
            return true;
        }
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT n.nspname, a.relname FROM pg_partition_ancestors(to_regclass(?)) p
                JOIN pg_class a ON a.oid = p.relid JOIN pg_namespace n ON n.oid = a.relnamespace""")) {
            ps.setString(1, table.quoted());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (tables.test(new TableRef(rs.getString(1), rs.getString(2)))) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    /**
     * Tempers what fires on applied rows of {@code tables}: in {@code c}'s transaction when one is open, else in one
     * of its own; the record is written first (unless {@code check}). Returns the statements, run or (check mode) not.
     */
    public List<String> temper(Connection c, Predicate<TableRef> tables, boolean check) throws SQLException {
        List<Firing> firing = firing(c, tables);
        Plan plan = new Plan();
        firing.forEach(f -> plan.add(f.alter(f.tempered())));
        if (!check && !firing.isEmpty()) {
            record(firing);
            if (c.getAutoCommit()) {
                plan.runInTransaction(c);
            } else {
                try (Statement st = c.createStatement()) {
                    for (String sql : plan.shown()) {
                        st.execute(sql);
                    }
                }
            }
        }
        return plan.shown();
    }

    /**
     * Gives back what {@link #temper} changed, where it still carries pgferry's state (one changed since by someone
     * else is left as it is, and named in {@code skipped}), then forgets the record (unless {@code check}).
     */
    public List<String> restore(Connection c, boolean check, List<String> skipped) throws SQLException {
        return restore(c, check, skipped, new Plan());
    }

    /** The same, in one transaction after what {@code first} holds: both commit, or neither does. */
    public List<String> restore(Connection c, boolean check, List<String> skipped, Plan first) throws SQLException {
        List<Firing> recorded = load();
        Map<List<String>, Firing> now = recorded.isEmpty() ? Map.of() : states(c);
        Plan plan = first;
        for (Firing f : recorded) {
            Firing current = now.get(f.key());
            if (current == null || current.enabled().equals(f.enabled())) {
                continue;
            }
            if (!current.enabled().equals(f.tempered())) {
                skipped.add("trigger " + Sql.ident(f.name()) + " on " + f.tableRef().quoted() + ": now "
                        + current.enabled() + ", not the " + f.tempered() + " pgferry set; left as it is");
                continue;
            }
            plan.add(f.alter(f.enabled()));
        }
        if (!check) {
            plan.runInTransaction(c);
            remove();
        }
        return plan.shown();
    }

    public List<Firing> load() {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try {
            return List.copyOf(Json.MAPPER.readValue(file.toFile(), new TypeReference<List<Firing>>() {
            }));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    private void record(List<Firing> firing) {
        Map<List<String>, Firing> all = new LinkedHashMap<>();
        load().forEach(f -> all.put(f.key(), f));
        firing.forEach(f -> all.putIfAbsent(f.key(), f));
        try {
            StateFiles.directory(file.getParent());
            StateFiles.write(file, Json.MAPPER.writeValueAsBytes(new ArrayList<>(all.values())));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record the triggers pgferry tempers in " + file, e);
        }
    }

    private void remove() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + file, e);
        }
    }
}
