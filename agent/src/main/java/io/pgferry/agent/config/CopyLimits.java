package io.pgferry.agent.config;

/**
 * How much of this instance one initial copy may take: PostgreSQL and the agent share the host, and the copy's
 * parallelism multiplies connections on both servers. Requests asking for more are refused, never trimmed quietly.
 *
 * @param maxJobs parallel table copies (each holds one source and one target connection)
 * @param maxConnections connections the copy may open in all, on both servers together
 */
public record CopyLimits(int maxJobs, int maxConnections) {
    /** Suited to 2 cores: two table copies and two index builds keep both busy without queueing on the CPU. */
    public static final CopyLimits DEFAULT = new CopyLimits(4, 12);
    public static final int MAX = 64;

    /**
     * Connections of a copy: per job one to the source and one to the target, per index build one to the target,
     * and three that coordinate (the replication connection holding the snapshot, one planner on each side).
     */
    public static int connectionsFor(int jobs, int indexJobs) {
        return 2 * jobs + indexJobs + 3;
    }
}
