package io.pgferry.agent.postgres;

import java.nio.file.Path;

/**
 * The PostgreSQL client programs the agent will run.
 *
 * @param source "configured" (pg_bin_dir) or "detected"
 */
public record PgTools(Path binDir, String pgDumpVersion, int pgDumpMajor, String source) {
}
