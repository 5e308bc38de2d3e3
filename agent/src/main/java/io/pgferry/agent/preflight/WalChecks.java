package io.pgferry.agent.preflight;

import java.io.IOException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;

/**
 * How much WAL the migration's slot may make the source keep (docs/design.md, "Lifecycle": retained WAL). A slot
 * holds every WAL segment its subscriber has not confirmed; with {@code max_slot_wal_keep_size = -1} a target that
 * is down for a weekend fills the source's disk. With a limit PostgreSQL invalidates the slot instead (the source
 * stays safe, the migration starts over).
 */
final class WalChecks {
    private final Connection c;
    private final Findings out;
    private final boolean localServer;

    WalChecks(Connection c, Findings out, boolean localServer) {
        this.c = c;
        this.out = out;
        this.localServer = localServer;
    }

    void run() throws SQLException {
        long limit = Catalog.count(c, "SELECT pg_size_bytes(current_setting('max_slot_wal_keep_size'))");
        out.fact("max_slot_wal_keep_size_bytes", limit);
        Map<String, String> s = Catalog.settings(c, "data_directory");
        Long free = free(s.get("data_directory"));
        if (free != null) {
            out.fact("wal_free_bytes", free);
        }
        String space = free == null ? "the free space for WAL could not be read (it needs the agent beside the "
                + "server and data_directory readable: superuser or pg_read_all_settings)"
                : free + " bytes are free on the filesystem of pg_wal";
        if (limit < 0) {
            out.warning("wal_retention_unbounded", List.of("max_slot_wal_keep_size=-1"), "max_slot_wal_keep_size "
                    + "is -1: the migration's slot keeps every WAL segment the target has not confirmed, without "
                    + "limit; a target that stops for long fills the source's disk (" + space + ")",
                    "ALTER SYSTEM SET max_slot_wal_keep_size = '<size>' (for example a half of the free space); "
                    + "SELECT pg_reload_conf(). A slot that would pass it is invalidated and the migration starts "
                    + "over (pgferry.migrate.status shows it; docs/design.md, Lifecycle)");
        } else if (free != null && limit > free) {
            out.warning("wal_retention_unbounded", List.of("max_slot_wal_keep_size=" + limit),
                    "max_slot_wal_keep_size (" + limit + " bytes) is more than the free space for WAL (" + free
                    + " bytes): the slot can fill the source's disk before the limit invalidates it",
                    "lower max_slot_wal_keep_size below the free space (ALTER SYSTEM SET; SELECT "
                    + "pg_reload_conf()), or free space");
        }
    }

    /** Free bytes on pg_wal's filesystem, or null when the agent cannot see it. */
    private Long free(String dataDirectory) {
        if (!localServer || dataDirectory == null) {
            return null;
        }
        try {
            FileStore store = Files.getFileStore(Path.of(dataDirectory, "pg_wal"));
            return store.getUsableSpace();
        } catch (IOException | SecurityException e) {
            return null;
        }
    }
}
