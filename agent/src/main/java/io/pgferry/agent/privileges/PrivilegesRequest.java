package io.pgferry.agent.privileges;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.privilegeset.PrivilegeSet;
import io.pgferry.agent.privilegeset.RoleMap;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.subscription.SourceConnection;
import java.util.Map;

/**
 * Body of {@code PUT /v1/migrations/{m}/privileges}.
 *
 * @param source what the source's {@code GET privileges} answered; or, with {@code connection} instead, the target
 *               agent reads them on the source itself
 * @param connection how the subscription reaches the source: the target agent reads the source's privileges over it,
 *                   so a schema of thousands of tables is not carried through the caller twice
 * @param roleMap source role to target role; roles not listed keep their names
 * @param check absent means false; true answers what differs and the SQL that would remove it, changing nothing
 */
public record PrivilegesRequest(String database, PrivilegeSet source, SourceConnection connection,
                                Map<String, String> roleMap, Boolean check) {
    /**
     * The source's privileges grow with the schema (about 600 KB for 1,000 tables with an index each, so 5,000 passed
     * the server's 1 MiB for JSON bodies): 32 MiB holds some 50,000 tables, and parses well within the agent's heap.
     */
    public static final long MAX_BODY_BYTES = 32L * 1024 * 1024;

    public PrivilegesRequest {
        Names.require("database", database);
        if ((source == null) == (connection == null)) {
            throw new BadRequestException("source", "give exactly one of source (the answer of GET privileges on the "
                    + "source) and connection (the subscription's connection, to read them on the source from here)");
        }
        check = check != null && check;
    }

    RoleMap map() {
        return RoleMap.of(roleMap);
    }
}
