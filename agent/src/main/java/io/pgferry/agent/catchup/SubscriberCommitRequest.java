package io.pgferry.agent.catchup;

import io.pgferry.agent.migration.Direction;
import io.pgferry.agent.migration.Names;

/**
 * Body of {@code PUT /v1/migrations/{m}/catch-up} (the subscribing side).
 *
 * @param direction {@code forward} (default; the target's subscription {@code pgferry_<m>}) or {@code reverse}
 *                  (the old source's {@code pgferry_<m>_reverse})
 */
public record SubscriberCommitRequest(String database, String direction, Boolean check) {
    public SubscriberCommitRequest {
        Names.require("database", database);
        Direction.parse(direction);
        check = check != null && check;
    }

    Direction stream() {
        return Direction.parse(direction);
    }
}
