package io.pgferry.agent.postdata;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.problem.BadRequestException;
import java.util.Map;

/**
 * Body of {@code POST /v1/migrations/{m}/post-data}.
 *
 * @param check absent means false
 * @param jobs pg_restore's parallel workers; absent means min(4, CPUs)
 * @param privileges absent means true: owners moved with the schema. False (owners stay the agent's role): a
 *                   materialized view its source owner could refresh is not refreshed here, where it would run as the
 *                   agent's role
 * @param roleMap source role to target role: policies naming a mapped role are created naming its target role
 */
public record PostDataRequest(String database, Integer jobs, Boolean check, Boolean privileges,
                              Map<String, String> roleMap) {
    static final int MAX_JOBS = 64;

    public PostDataRequest {
        check = check != null && check;
        privileges = privileges == null || privileges;
        Names.require("database", database);
        if (jobs == null) {
            jobs = Math.min(4, Runtime.getRuntime().availableProcessors());
        }
        if (jobs < 1 || jobs > MAX_JOBS) {
            throw new BadRequestException("jobs", "jobs must be from 1 to " + MAX_JOBS);
        }
        roleMap = RoleMap.of(roleMap).map();
    }

    RoleMap map() {
        return RoleMap.of(roleMap);
    }
}
