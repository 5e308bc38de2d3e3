package io.pgferry.agent.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.pgferry.agent.testbed.PgBedTool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** pg_bin_dir choice with real pg_dump builds of PostgreSQL 14 and 18 from tools/pgbed. */
class PgToolsResolverTest {
    static final Path BIN14 = PgBedTool.binDir(14);
    static final Path BIN18 = PgBedTool.binDir(18);

    @Test
    void configuredDirIsUsedWhenNewEnough() throws Exception {
        PgTools t = new PgToolsResolver(Optional.of(BIN18), "").resolve(18);
        assertEquals(BIN18, t.binDir());
        assertEquals(18, t.pgDumpMajor());
        assertEquals("configured", t.source());
        assertEquals(BIN18, new PgToolsResolver(Optional.of(BIN18), "").resolve(14).binDir(), "newer pg_dump is fine");
    }

    @Test
    void configuredDirTooOldIsAClearError() {
        PgToolsException e = assertThrows(PgToolsException.class,
                () -> new PgToolsResolver(Optional.of(BIN14), "").resolve(18));
        assertTrue(e.getMessage().contains("older than the server's major 18"), e.getMessage());
        assertTrue(e.getMessage().contains(BIN14.toString()), e.getMessage());
    }

    @Test
    void detectsFromPathWhenNotConfigured() throws Exception {
        assumeFalse(Files.exists(Path.of("/usr/lib/postgresql/18/bin/pg_dump")));
        assumeFalse(Files.exists(Path.of("/usr/pgsql-18/bin/pg_dump")));
        PgTools t = new PgToolsResolver(Optional.empty(), "/nonexistent:" + BIN14 + ":" + BIN18).resolve(18);
        assertEquals(BIN18, t.binDir(), "the PG 14 pg_dump on PATH is skipped as too old");
        assertEquals("detected", t.source());
    }

    @Test
    void nothingNewEnoughIsAClearError() {
        assumeFalse(Files.exists(Path.of("/usr/lib/postgresql/18/bin/pg_dump")));
        assumeFalse(Files.exists(Path.of("/usr/pgsql-18/bin/pg_dump")));
        PgToolsException e = assertThrows(PgToolsException.class,
                () -> new PgToolsResolver(Optional.empty(), BIN14.toString()).resolve(18));
        assertTrue(e.getMessage().contains("too old: " + BIN14 + " (pg_dump 14."), e.getMessage());
        assertTrue(e.getMessage().contains("set pg_bin_dir"), e.getMessage());
    }
}
