package io.pgferry.agent.postdata;

import io.pgferry.agent.http.BadRequestException;
import io.pgferry.agent.migration.Names;

/**
 * Body of {@code POST /v1/migrations/{m}/post-data}.
 *
 * @param check absent means false
 * @param jobs pg_restore's parallel workers; absent means min(4, CPUs)
 */
public record PostDataRequest(String database, Integer jobs, Boolean check) {
    static final int MAX_JOBS = 64;

    public PostDataRequest {
        check = check != null && check;
        Names.require("database", database);
        if (jobs == null) {
            jobs = Math.min(4, Runtime.getRuntime().availableProcessors());
        }
        if (jobs < 1 || jobs > MAX_JOBS) {
            throw new BadRequestException("jobs", "jobs must be from 1 to " + MAX_JOBS);
        }
    }
}
