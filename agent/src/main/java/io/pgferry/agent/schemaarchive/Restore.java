package io.pgferry.agent.schemaarchive;

import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgTools;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Restores chosen entries of the uploaded archive with the target's own pg_restore, selected by dump id through
 * a {@code --use-list} file: into the database, or as a script the agent runs itself (the pre-data, so the owners
 * and privileges go in with it, in one transaction). Owners and grants never come from the archive (see the
 * source's pg_dump options): privilegeset.PrivilegePlanner applies them through the role map.
 */
public final class Restore {
    /** Index builds on big tables take hours; the job, not the client, waits for them. */
    public static final Duration TIMEOUT = Duration.ofHours(48);

    private final PgProcess process;
    private final PgTools tools;
    private final ArchiveFiles files;

    public Restore(PgProcess process, PgTools tools, ArchiveFiles files) {
        this.process = process;
        this.tools = tools;
        this.files = files;
    }

    /** The command as reported in {@code queries}: no connection options, no file paths. */
    public static String describe(String section, List<TocEntry> entries, List<String> options) {
        return "pg_restore --section=" + section + " " + String.join(" ", options) + " --use-list=<"
                + entries.size() + " entries: " + entries.stream().map(e -> Integer.toString(e.id()))
                .collect(Collectors.joining(",")) + ">";
    }

    /**
     * The entries as the SQL script pg_restore would run, for the agent to run in a transaction of its own. The
     * {@code \restrict} lines (psql meta-commands guarding script output, with a key per run) are left out: the
     * script goes to the server statement by statement, never through psql.
     */
    public String script(String section, List<TocEntry> entries) throws IOException {
        Path list = files.temp("use-list");
        try {
            Files.writeString(list, entries.stream().map(e -> e.id() + "\n").collect(Collectors.joining()));
            List<String> args = List.of("--section=" + section, "--exit-on-error", "--no-owner", "--no-privileges",
                    "--use-list=" + list, "--file=-", files.dump().toString());
            String script = Tools.check("pg_restore", process.run(tools.binDir().resolve("pg_restore"), args, null,
                    false, TIMEOUT)).stdout();
            return script.lines().filter(l -> !l.startsWith("\\restrict ") && !l.startsWith("\\unrestrict "))
                    .collect(Collectors.joining("\n"));
        } finally {
            Files.deleteIfExists(list);
        }
    }

    /**
     * @param options e.g. {@code --single-transaction} or {@code --jobs=4}
     * @throws io.pgferry.agent.problem.ApiException 502 {@code pg_restore_failed}
     */
    public void run(String database, String section, List<TocEntry> entries, List<String> options)
            throws IOException {
        Path list = files.temp("use-list");
        try {
            // A use-list line needs only the dump id; entries run in the file's order, which is the archive's.
            Files.writeString(list, entries.stream().map(e -> e.id() + "\n").collect(Collectors.joining()));
            List<String> args = new ArrayList<>(List.of("--section=" + section, "--exit-on-error", "--no-owner",
                    "--no-privileges", "--use-list=" + list));
            args.addAll(options);
            args.add(files.dump().toString());
            Tools.check("pg_restore", process.run(tools.binDir().resolve("pg_restore"), args, database, true,
                    TIMEOUT));
        } finally {
            Files.deleteIfExists(list);
        }
    }
}
