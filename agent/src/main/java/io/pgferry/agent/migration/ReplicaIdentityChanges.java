package io.pgferry.agent.migration;

import com.fasterxml.jackson.core.type.TypeReference;
import io.pgferry.agent.json.Json;
import io.pgferry.agent.sql.Sql;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The replica identities pgferry changed on this server ({@code state_dir/{m}/replica_identity.json}), each with
 * what it was before, so cleanup can put it back: the catalog keeps only the current setting. Written before the
 * ALTER TABLE runs, so a crash between the two leaves a record of a change that did not happen (restoring it is a
 * no-op), never a change without a record. The first original of a table wins: a later step that finds pgferry's
 * own setting must not record it as the original.
 */
public final class ReplicaIdentityChanges {
    public static final String FILE = "replica_identity.json";

    /**
     * @param original the setting before pgferry: {@code default}, {@code nothing}, {@code full} or
     *                 {@code index <name>}
     * @param set what pgferry set: {@code full} or {@code index <name>}
     */
    public record Change(String schema, String name, String original, String set) {
        public Change {
            Names.require("schema", schema);
            Names.require("name", name);
            Identity.parse(original);
            Identity.parse(set);
        }

        public TableRef table() {
            return new TableRef(schema, name);
        }
    }

    /** A replica identity setting as catalogs hold it and as ALTER TABLE writes it. */
    public record Identity(char kind, String index) {
        public static Identity parse(String text) {
            if (text == null) {
                throw new io.pgferry.agent.problem.BadRequestException("replica_identity", "a replica identity is "
                        + "default, nothing, full or index <name>");
            }
            return switch (text) {
                case "default" -> new Identity('d', null);
                case "nothing" -> new Identity('n', null);
                case "full" -> new Identity('f', null);
                default -> {
                    if (!text.startsWith("index ") || text.length() <= 6) {
                        throw new io.pgferry.agent.problem.BadRequestException("replica_identity", "a replica "
                                + "identity is default, nothing, full or index <name>, got " + text);
                    }
                    yield new Identity('i', Names.require("replica_identity", text.substring(6)));
                }
            };
        }

        @Override
        public String toString() {
            return switch (kind) {
                case 'd' -> "default";
                case 'n' -> "nothing";
                case 'f' -> "full";
                default -> "index " + index;
            };
        }

        /** The clause after {@code ALTER TABLE .. REPLICA IDENTITY}. */
        public String clause() {
            return switch (kind) {
                case 'd' -> "DEFAULT";
                case 'n' -> "NOTHING";
                case 'f' -> "FULL";
                default -> "USING INDEX " + Sql.ident(index);
            };
        }
    }

    private static final String CURRENT = """
            SELECT c.relreplident,
                   (SELECT ic.relname FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                    WHERE i.indrelid = c.oid AND i.indisreplident LIMIT 1)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relname = ? AND c.relkind IN ('r', 'p')""";

    private final Path file;

    public ReplicaIdentityChanges(Path stateDir, MigrationId migration) {
        this.file = stateDir.resolve(migration.value()).resolve(FILE);
    }

    public List<Change> load() {
        if (!Files.isRegularFile(file)) {
            return List.of();
        }
        try {
            return List.copyOf(Json.MAPPER.readValue(file.toFile(), new TypeReference<List<Change>>() {
            }));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    /** Adds the changes about to be made; a table already recorded keeps its first original. */
    public void record(List<Change> changes) {
        if (changes.isEmpty()) {
            return;
        }
        Map<TableRef, Change> all = new LinkedHashMap<>();
        load().forEach(c -> all.put(c.table(), c));
        for (Change c : changes) {
            Change old = all.get(c.table());
            all.put(c.table(), old == null ? c : new Change(c.schema(), c.name(), old.original(), c.set()));
        }
        try {
            Files.createDirectories(file.getParent());
            Path tmp = file.resolveSibling(FILE + ".tmp");
            Files.writeString(tmp, Json.MAPPER.writeValueAsString(List.copyOf(all.values())));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot record replica identity changes in " + file, e);
        }
    }

    public void remove() {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + file, e);
        }
    }

    /** The table's replica identity now; empty when the table does not exist in this database. */
    public static Optional<Identity> current(Connection c, TableRef table) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(CURRENT)) {
            ps.setString(1, table.schema());
            ps.setString(2, table.name());
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                char kind = rs.getString(1).charAt(0);
                return Optional.of(kind == 'i' ? new Identity('i', rs.getString(2)) : new Identity(kind, null));
            }
        }
    }

    /**
     * The ALTER TABLEs that put back each original whose table still carries what pgferry set; a table changed
     * since by someone else is left as it is (and named in {@code skipped}).
     */
    public static Plan restorePlan(Connection c, List<Change> changes, List<String> skipped) throws SQLException {
        Plan plan = new Plan();
        for (Change ch : changes) {
            Optional<Identity> now = current(c, ch.table());
            if (now.isEmpty()) {
                continue;
            }
            Identity set = Identity.parse(ch.set());
            Identity original = Identity.parse(ch.original());
            if (now.get().equals(original)) {
                continue;
            }
            if (!now.get().equals(set)) {
                skipped.add("replica identity of " + ch.table().quoted() + ": now " + now.get() + ", not the "
                        + set + " pgferry set; left as it is");
                continue;
            }
            plan.add("ALTER TABLE " + ch.table().quoted() + " REPLICA IDENTITY " + original.clause());
        }
        return plan;
    }

    /** The changes whose table exists here and does not carry its original: what cleanup would restore. */
    public static List<Change> pending(Connection c, List<Change> changes) throws SQLException {
        List<Change> out = new ArrayList<>();
        for (Change ch : changes) {
            Optional<Identity> now = current(c, ch.table());
            if (now.isPresent() && !now.get().equals(Identity.parse(ch.original()))) {
                out.add(ch);
            }
        }
        return out;
    }
}
