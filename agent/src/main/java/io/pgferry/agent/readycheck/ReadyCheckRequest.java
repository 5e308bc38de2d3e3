package io.pgferry.agent.readycheck;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.Scope;
import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;
import java.util.stream.Stream;

/**
 * Body of {@code POST /v1/migrations/{m}/ready-check}.
 *
 * @param side {@code source} (schema drift, slot lag in bytes, the sequences to expect) or {@code target} (tables
 *             ready, apply lag in seconds, those sequences present)
 * @param maxLagBytes source: the most WAL the subscriber may still have to confirm (default 16 MiB)
 * @param maxLagSeconds target: the apply lag allowed (default 30); null skips it (the source reported no bytes
 *                      pending, and an idle stream's lag in seconds only grows between keepalives)
 * @param sequences target: the sequences the source answered, each must exist
 * @param includeSchemas source: the scope as the user defines it (with the three others), resolved again now:
 *                       anything it selects that the schema archive did not is drift. When none of the four is
 *                       given, the scope the archive recorded is used (nothing new can be seen then)
 * @param reverseReplication source: the cutover will subscribe this database to the target (the reverse stream), so
 *                           the agent's role must be able to create that subscription
 */
public record ReadyCheckRequest(String database, String side, Long maxLagBytes, Double maxLagSeconds,
                                List<TableRef> sequences, List<String> includeSchemas, List<String> excludeSchemas,
                                List<TableRef> includeTables, List<TableRef> excludeTables,
                                Boolean reverseReplication) {
    public ReadyCheckRequest {
        Names.require("database", database);
        if (!"source".equals(side) && !"target".equals(side)) {
            throw new BadRequestException("side", "side must be source or target");
        }
        maxLagBytes = maxLagBytes == null ? 16L * 1024 * 1024 : maxLagBytes;
        if (maxLagBytes < 0 || (maxLagSeconds != null && maxLagSeconds < 0)) {
            throw new BadRequestException(maxLagBytes < 0 ? "max_lag_bytes" : "max_lag_seconds",
                    "lag limits must be 0 or more");
        }
        sequences = sequences == null ? List.of() : List.copyOf(sequences);
        reverseReplication = reverseReplication != null && reverseReplication;
        if ("target".equals(side) && scopeGiven(includeSchemas, excludeSchemas, includeTables, excludeTables)) {
            throw new BadRequestException("include_schemas", "the scope belongs to the source side's ready check; "
                    + "leave it out for side target");
        }
    }

    private static boolean scopeGiven(Object... fields) {
        return Stream.of(fields).anyMatch(f -> f != null);
    }

    /** The user's scope rule, or null when the request carries none. */
    Scope scope() {
        return scopeGiven(includeSchemas, excludeSchemas, includeTables, excludeTables)
                ? new Scope(includeSchemas, excludeSchemas, includeTables, excludeTables) : null;
    }
}
