package io.pgferry.agent.copy;

import io.pgferry.agent.json.Json;
import io.pgferry.agent.migration.MigrationId;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Optional;

/**
 * What the copy of a migration has durably done, in {@code state_dir/{m}/copy.json} on the target agent. It is
 * written before the slot is made (so a rerun knows a slot and rows it finds are this copy's), when every table's
 * rows and indexes are committed (with the slot's consistent point: that copy can still be finished by creating
 * the subscription) and at the end.
 *
 * @param status {@code copying} (a slot may exist, rows may be partly there), {@code copied} (rows, keys and
 *               indexes of every table committed, consistent with the slot at {@code consistentLsn}), {@code done}
 *               (the subscription streams from there), {@code failed} (nothing of it is kept)
 * @param tables per table: rows read on the source and written on the target in the snapshot, bytes, format
 */
public record CopyState(int format, String migration, String database, String status, String slot,
                        String consistentLsn, String startedAt, String finishedAt, Double seconds, String error,
                        List<TableState> tables) {
    static final int FORMAT = 1;
    static final String FILE = "copy.json";
    public static final String COPYING = "copying";
    public static final String COPIED = "copied";
    public static final String DONE = "done";
    public static final String FAILED = "failed";

    /**
     * @param state {@code pending}, {@code copying}, {@code copied} (rows committed), {@code ready} (indexes built)
     * @param format {@code binary} or {@code text}
     */
    public record TableState(String schema, String name, String state, long bytes, long rowsRead, long rowsWritten,
                             String format) {
    }

    public CopyState {
        tables = tables == null ? List.of() : List.copyOf(tables);
    }

    CopyState with(String newStatus, String lsn, String finished, Double secs, String err, List<TableState> t) {
        return new CopyState(format, migration, database, newStatus, slot, lsn, startedAt, finished, secs, err, t);
    }

    static Path file(Path stateDir, MigrationId migration) {
        return stateDir.resolve(migration.value()).resolve(FILE);
    }

    static Optional<CopyState> load(Path stateDir, MigrationId migration) {
        Path f = file(stateDir, migration);
        if (!Files.isRegularFile(f)) {
            return Optional.empty();
        }
        try {
            return Optional.of(Json.MAPPER.readValue(f.toFile(), CopyState.class));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the copy's state " + f + "; if it is damaged, remove it and "
                    + "make sure the migration's tables on the target are empty before rerunning", e);
        }
    }

    /** Replaced atomically (written beside it, then renamed), readable by the agent's user only. */
    void save(Path stateDir, MigrationId migration) {
        Path f = file(stateDir, migration);
        try {
            Files.createDirectories(f.getParent());
            Path tmp = Files.createTempFile(f.getParent(), ".copy", ".tmp",
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                Json.MAPPER.writeValue(tmp.toFile(), this);
                Files.move(tmp, f, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the copy's state to " + f, e);
        }
    }
}
