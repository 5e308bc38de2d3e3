package io.pgferry.agent.largeobjects;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import java.util.List;

/**
 * Body of {@code POST /v1/migrations/{m}/large-objects/export}.
 *
 * @param oids the large objects to send; one that does not exist here is sent as an unlink
 * @param data false: headers only (owner, ACL, comment, size), for the receiver's check mode
 */
public record ExportRequest(String database, List<Long> oids, Boolean data) {
    /** One JSON body stays far below the agent's 1 MiB request limit. */
    static final int MAX_OIDS = 50_000;

    public ExportRequest {
        Names.require("database", database);
        if (oids == null) {
            throw new BadRequestException("oids", "oids is required: the large objects to send");
        }
        if (oids.size() > MAX_OIDS) {
            throw new BadRequestException("oids", "at most " + MAX_OIDS + " oids per call; send them in batches");
        }
        for (int i = 0; i < oids.size(); i++) {
            LoHeader.requireOid("oids[" + i + "]", oids.get(i));
        }
        oids = List.copyOf(oids);
        data = data == null || data;
    }
}
