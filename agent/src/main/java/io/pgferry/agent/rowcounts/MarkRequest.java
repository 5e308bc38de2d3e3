package io.pgferry.agent.rowcounts;

import io.pgferry.agent.http.BadRequestException;
import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.TableRef;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/row-counts/mark}.
 *
 * @param tables default: the tables of the migration's manifest
 * @param timeoutSeconds how long to wait for the subscriber to apply everything up to the mark (default 60)
 * @param holdSeconds how long the snapshot is held at most if nobody counts in it (default 300)
 */
public record MarkRequest(String database, List<TableRef> tables, Integer timeoutSeconds, Integer holdSeconds) {
    public MarkRequest {
        Names.require("database", database);
        tables = tables == null ? null : List.copyOf(tables);
        timeoutSeconds = timeoutSeconds == null ? 60 : timeoutSeconds;
        holdSeconds = holdSeconds == null ? 300 : holdSeconds;
        if (timeoutSeconds < 1 || timeoutSeconds > 3600) {
            throw new BadRequestException("timeout_seconds", "timeout_seconds must be between 1 and 3600");
        }
        if (holdSeconds < 1 || holdSeconds > 3600) {
            throw new BadRequestException("hold_seconds", "hold_seconds must be between 1 and 3600");
        }
    }
}
