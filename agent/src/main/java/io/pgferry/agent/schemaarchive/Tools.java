package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgTools;
import io.pgferry.agent.postgres.PgToolsCache;
import io.pgferry.agent.postgres.PgToolsException;
import io.pgferry.agent.problem.ApiException;
import java.util.List;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The agent's pg_dump and pg_restore, and how their failures reach clients. */
public final class Tools {
    private static final Logger LOG = LoggerFactory.getLogger(Tools.class);
    /** Enough of a tool's error lines to act on, without sending a whole log. */
    private static final int MAX_DETAIL_CHARS = 2000;

    private Tools() {
    }

    /** @throws ApiException 500 {@code pg_tools_unavailable} when no usable client programs are installed */
    public static PgTools forServer(PgToolsCache tools, int serverMajor) {
        try {
            return tools.tools(serverMajor);
        } catch (PgToolsException e) {
            throw new ApiException(500, "pg_tools_unavailable", "PostgreSQL client programs unavailable",
                    e.getMessage());
        }
    }

    /**
     * A failed run becomes a 502 carrying the tool's {@code error:} lines: they name the object at fault and never
     * hold the password, which travels in a pgpass file. The whole stderr goes to the agent's log.
     *
     * @throws ApiException 502 {@code <tool>_failed}
     */
    public static PgProcess.Result check(String tool, PgProcess.Result r) {
        if (r.ok()) {
            return r;
        }
        LOG.warn("{} exited with {}: {}", tool, r.exitCode(), r.stderr().strip());
        String errors = r.stderr().lines().filter(l -> l.contains("error:") || l.startsWith("DETAIL:")
                        || l.startsWith("Command was:"))
                .collect(Collectors.joining("\n"));
        if (errors.length() > MAX_DETAIL_CHARS) {
            errors = errors.substring(0, MAX_DETAIL_CHARS) + "...";
        }
        throw new ApiException(502, tool + "_failed", tool + " failed", tool + " exited with " + r.exitCode()
                + (errors.isEmpty() ? "; see the agent's log" : ": " + errors), null, List.of(), null);
    }
}
