package io.pgferry.agent.cleanup;

import io.pgferry.agent.migration.Names;

/**
 * Body of {@code POST /v1/migrations/{m}/cleanup}.
 *
 * @param keepReverse default false: keep the reverse stream (publication, subscription and slot
 *                    {@code pgferry_<m>_reverse}, the role it logs in with, and the migration's state files)
 */
public record CleanupRequest(String database, Boolean keepReverse, Boolean check) {
    public CleanupRequest {
        Names.require("database", database);
        keepReverse = keepReverse != null && keepReverse;
        check = check != null && check;
    }
}
