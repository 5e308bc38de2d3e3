package io.pgferry.agent.stopreplication;

import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.Names;

/**
 * Body of {@code POST /v1/migrations/{m}/stop-replication}.
 *
 * @param direction {@code forward} (default: the target's subscription {@code pgferry_<m>}) or {@code reverse}
 *                  (the old source's {@code pgferry_<m>_reverse}, at rollback)
 */
public record StopReplicationRequest(String database, String direction, Boolean check) {
    public StopReplicationRequest {
        Names.require("database", database);
        Direction.parse(direction);
        check = check != null && check;
    }

    Direction stream() {
        return Direction.parse(direction);
    }
}
