package io.pgferry.agent.largeobjects;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * {@code state_dir/{m}/large-objects.json}: that this side takes part in the migration's large-object syncs, and its
 * {@link Mark} after the last complete one. Only a help: without the file (or with another database in it) the next
 * sync compares contents instead of trusting a mark, and an import refuses to replace or remove large objects it
 * has no record of taking part in.
 */
final class LoState {
    static final String FILE = "large-objects.json";

    /** @param mark null until a sync completed */
    record Saved(String database, Mark mark) {
    }

    private final Path dir;

    LoState(Path stateDir, MigrationId migration) {
        this.dir = stateDir.resolve(migration.value());
    }

    Optional<Saved> read(String database) {
        Path f = dir.resolve(FILE);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            Saved s = Json.MAPPER.readValue(f.toFile(), Saved.class);
            return database.equals(s.database()) ? Optional.of(s) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty(); // unreadable: as if absent, the safe side
        }
    }

    /** Marks this side as taking part, keeping its mark if it has one. */
    void join(String database) {
        if (read(database).isEmpty()) {
            write(new Saved(database, null));
        }
    }

    void write(Saved saved) {
        try {
            Files.createDirectories(dir);
            Path tmp = dir.resolve(FILE + ".tmp");
            Files.write(tmp, Json.MAPPER.writeValueAsBytes(saved));
            Files.move(tmp, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + dir.resolve(FILE), e);
        }
    }
}
