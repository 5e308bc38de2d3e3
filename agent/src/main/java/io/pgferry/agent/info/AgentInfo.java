package io.pgferry.agent.info;

import java.util.List;
import java.util.Map;

/**
 * Body of /v1/info.
 *
 * @param settings keyed by PostgreSQL's own setting names (dots kept), absent settings left out
 * @param pgBinDir null, with {@code pgBinDirError} set, when no usable pg_dump was found
 * @param walDisk null, with {@code walDiskError} set, when the agent cannot see the WAL directory (another host, a
 *                managed service, a role that may not read data_directory, an OS user that may not enter it)
 * @param replication what already holds the server's replication limits
 */
public record AgentInfo(String agentVersion, String serverVersion, int serverVersionNum, int major,
                        Map<String, String> settings, List<DatabaseInfo> databases, String pgBinDir,
                        String pgBinDirSource, String pgDumpVersion, String pgBinDirError, WalDisk walDisk,
                        String walDiskError, ReplicationInUse replication) {
}
