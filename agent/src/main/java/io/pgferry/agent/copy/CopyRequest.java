package io.pgferry.agent.copy;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.subscription.SourceConnection;
import java.util.Locale;

/**
 * Body of {@code POST /v1/migrations/{m}/copy}.
 *
 * @param connection how the target reaches the source: the subscription's connection, with the replication role;
 *                   the copy reads the source through it too
 * @param jobs tables (or parts of a big one) copied at once; default 2
 * @param indexJobs keys and indexes built at once while the copy goes on; default 2
 * @param binary the subscription's {@code binary} option (the copy itself picks binary per table where types allow)
 * @param streaming the subscription's {@code streaming} option: on (default), off or parallel
 * @param pieceBytes largest part of a table one job copies: bigger tables are split in ctid ranges copied in
 *                   parallel; absent means the size of all tables over 4 pieces a job, from 64 MiB to 1 GiB,
 *                   on a target host of 3 CPUs or more, and no split on fewer ({@code CopyPlan.SPLIT_MIN_CPUS})
 */
public record CopyRequest(String database, SourceConnection connection, Integer jobs, Integer indexJobs,
                          Boolean binary, String streaming, Long pieceBytes, Boolean check) {
    static final long MIN_PIECE_BYTES = 1024L * 1024;

    public CopyRequest {
        Names.require("database", database);
        if (connection == null) {
            throw new BadRequestException("connection", "connection is required: {host, port, dbname, user, "
                    + "password, sslmode} of the source, with the replication role");
        }
        jobs = jobs == null ? 2 : jobs;
        indexJobs = indexJobs == null ? 2 : indexJobs;
        if (jobs < 1) {
            throw new BadRequestException("jobs", "jobs must be 1 or more");
        }
        if (indexJobs < 1) {
            throw new BadRequestException("index_jobs", "index_jobs must be 1 or more");
        }
        binary = binary != null && binary;
        String s = streaming == null ? "on" : streaming.toLowerCase(Locale.ROOT);
        streaming = switch (s) {
            case "on", "true" -> "on";
            case "off", "false" -> "off";
            case "parallel" -> "parallel";
            default -> throw new BadRequestException("streaming", "streaming must be on, off or parallel");
        };
        if (pieceBytes != null && pieceBytes < MIN_PIECE_BYTES) {
            throw new BadRequestException("piece_bytes", "piece_bytes must be at least " + MIN_PIECE_BYTES
                    + " (1 MiB)");
        }
        check = check != null && check;
    }

    @Override
    public String toString() {
        return "CopyRequest[database=" + database + ", connection=" + connection + ", jobs=" + jobs + ", index_jobs="
                + indexJobs + ", binary=" + binary + ", streaming=" + streaming + ", piece_bytes=" + pieceBytes
                + ", check=" + check + "]";
    }
}
