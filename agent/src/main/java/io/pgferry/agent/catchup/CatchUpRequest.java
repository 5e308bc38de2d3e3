package io.pgferry.agent.catchup;

import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;

/**
 * Body of {@code POST /v1/migrations/{m}/catch-up}.
 *
 * @param lsn wait until the subscriber has flushed up to here; default: after every commit so far
 * @param direction {@code forward} (default; slot {@code pgferry_<m>}, on the source) or {@code reverse}
 *                  (slot {@code pgferry_<m>_reverse}, on the target after cutover)
 * @param timeoutSeconds 1-3600, default 60
 */
public record CatchUpRequest(String database, String lsn, String direction, Integer timeoutSeconds) {
    public CatchUpRequest {
        Names.require("database", database);
        if (lsn != null && !lsn.matches("[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")) {
            throw new BadRequestException("lsn", "lsn must be a WAL position such as 0/16B3748");
        }
        Direction.parse(direction);
        timeoutSeconds = timeoutSeconds == null ? 60 : timeoutSeconds;
        if (timeoutSeconds < 1 || timeoutSeconds > 3600) {
            throw new BadRequestException("timeout_seconds", "timeout_seconds must be 1-3600");
        }
    }

    Direction stream() {
        return Direction.parse(direction);
    }
}
