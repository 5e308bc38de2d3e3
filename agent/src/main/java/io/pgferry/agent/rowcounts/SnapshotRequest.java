package io.pgferry.agent.rowcounts;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/row-counts/snapshot}.
 *
 * @param tables default: the tables of the migration's manifest (for the counters answered)
 * @param waitForSubscriber publisher: wait until the migration's subscriber has applied everything the snapshot sees
 * @param timeoutSeconds how long to wait for the subscriber (default 60)
 * @param holdSeconds how long the snapshot is held at most if no count imports it (default 120)
 */
public record SnapshotRequest(String database, List<TableRef> tables, Boolean waitForSubscriber,
                              Integer timeoutSeconds, Integer holdSeconds) {
    public SnapshotRequest {
        Names.require("database", database);
        tables = tables == null ? null : List.copyOf(tables);
        waitForSubscriber = waitForSubscriber != null && waitForSubscriber;
        timeoutSeconds = timeoutSeconds == null ? 60 : timeoutSeconds;
        holdSeconds = holdSeconds == null ? 120 : holdSeconds;
        if (timeoutSeconds < 1 || timeoutSeconds > 3600) {
            throw new BadRequestException("timeout_seconds", "timeout_seconds must be between 1 and 3600");
        }
        if (holdSeconds < 1 || holdSeconds > 3600) {
            throw new BadRequestException("hold_seconds", "hold_seconds must be between 1 and 3600");
        }
    }
}
