package io.pgferry.agent.verify;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;

/**
 * Body of {@code POST /v1/migrations/{m}/verify/snapshot}.
 *
 * @param holdSeconds how long the snapshot is held at most (default 3600): it is closed earlier by {@code verify}
 *                    importing it or by {@code DELETE}
 */
public record SnapshotRequest(String database, Long holdSeconds) {
    public SnapshotRequest {
        Names.require("database", database);
        holdSeconds = holdSeconds == null ? 3600L : holdSeconds;
        if (holdSeconds < 1 || holdSeconds > 86400) {
            throw new BadRequestException("hold_seconds", "hold_seconds must be between 1 and 86400");
        }
    }
}
