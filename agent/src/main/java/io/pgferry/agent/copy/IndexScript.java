package io.pgferry.agent.copy;

import io.pgferry.agent.postgres.PgProcess;
import io.pgferry.agent.postgres.PgTools;
import io.pgferry.agent.schemaarchive.ArchiveFiles;
import io.pgferry.agent.schemaarchive.Tools;
import io.pgferry.agent.schemaarchive.TocEntry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The SQL of chosen archive entries (keys and indexes), one piece per entry, so the copy can build each table's
 * indexes on its own connections as soon as that table is copied, instead of one pg_restore per table. pg_restore
 * writes the script (the archive stays the one source of every definition); with {@code --verbose} it heads each
 * entry with {@code -- TOC entry <dump id> (class <oid> OID <oid>)}, which is where the script is cut.
 *
 * <p>A definition could hold text that looks like such a header (a string literal in an index expression), so the
 * cut is accepted only when the headers found are exactly the entries asked for, in order, each with its catalog
 * and object OID; anything else and the script is not used at all ({@link #extract} is empty).
 */
final class IndexScript {
    private static final Duration TIMEOUT = Duration.ofMinutes(30);
    private static final Pattern HEADER = Pattern.compile("^--\\n-- TOC entry (\\d+) \\(class (\\d+) OID (\\d+)\\)\\n",
            Pattern.MULTILINE);
    /** pg_restore's switch of tablespace before the entries that need it; it stays in force for those after. */
    private static final Pattern TABLESPACE = Pattern.compile("^SET default_tablespace = ('(?:[^']|'')*'|\"(?:[^\"]"
            + "|\"\")*\"|[A-Za-z0-9_$]+);$");
    private static final Pattern ACCESS_METHOD = Pattern.compile("^SET default_table_access_method = [^;\\n]+;$");

    /**
     * @param preamble the script's opening settings (search_path empty, so every name in it is qualified), run once
     *                 on each session that runs pieces
     * @param sql dump id to the entry's statements, each prefixed with the tablespace in force for it; a key built
     *            apart ({@link KeyIndex}) has its attach there and its index under {@link KeyIndex#buildId()}
     */
    record Script(String preamble, Map<Integer, String> sql) {
        /** The keys whose entries hold what {@link KeyIndex} makes again, built apart; the others as they were. */
        List<KeyIndex> keysApart(Collection<KeyIndex> keys) {
            return keys.stream().filter(k -> sql.containsKey(k.id()) && k.matches(sql.get(k.id()))).toList();
        }

        Script withKeysApart(List<KeyIndex> keys) {
            Map<Integer, String> apart = new HashMap<>(sql);
            for (KeyIndex k : keys) {
                apart.put(k.id(), k.attach());
                apart.put(k.buildId(), k.build());
            }
            return new Script(preamble, apart);
        }
    }

    private IndexScript() {
    }

    static Optional<Script> extract(PgProcess process, PgTools tools, ArchiveFiles files, List<TocEntry> entries)
            throws IOException {
        if (entries.isEmpty()) {
            return Optional.of(new Script("", Map.of()));
        }
        Path list = files.temp("copy-use-list");
        try {
            Files.writeString(list, entries.stream().map(e -> e.id() + "\n").collect(Collectors.joining()));
            String script = Tools.check("pg_restore", process.run(tools.binDir().resolve("pg_restore"), List.of(
                    "--verbose", "--no-owner", "--no-privileges", "--use-list=" + list, "--file=-",
                    files.dump().toString()), null, false, TIMEOUT)).stdout();
            return parse(script, entries);
        } finally {
            Files.deleteIfExists(list);
        }
    }

    static Optional<Script> parse(String script, List<TocEntry> entries) {
        Matcher m = HEADER.matcher(script);
        List<int[]> headers = new ArrayList<>();
        int index = 0;
        while (m.find()) {
            if (index >= entries.size()) {
                return Optional.empty();
            }
            TocEntry e = entries.get(index++);
            if (Integer.parseInt(m.group(1)) != e.id() || Long.parseLong(m.group(2)) != e.catalogOid()
                    || Long.parseLong(m.group(3)) != e.objectOid()) {
                return Optional.empty();
            }
            headers.add(new int[] {m.start(), m.end()});
        }
        if (index != entries.size()) {
            return Optional.empty();
        }
        String preamble = clean(script.substring(0, headers.get(0)[0]), new String[1]);
        Map<Integer, String> sql = new HashMap<>();
        String[] tablespace = {lastTablespace(script.substring(0, headers.get(0)[0]))};
        for (int i = 0; i < entries.size(); i++) {
            int end = i + 1 < headers.size() ? headers.get(i + 1)[0] : script.length();
            String body = script.substring(headers.get(i)[1], end);
            String inForce = tablespace[0];
            String statements = clean(body, tablespace);
            sql.put(entries.get(i).id(), (inForce == null ? "" : "SET default_tablespace = " + inForce + ";\n")
                    + statements);
        }
        return Optional.of(new Script(preamble, sql));
    }

    /**
     * The entry's text without the psql-only {@code \restrict} lines and without the settings pg_restore appends
     * at its end for the entries that follow (their tablespace is kept in {@code tablespace[0]} for those).
     * Settings are only taken from the end: the same text inside a definition is part of that definition.
     */
    private static String clean(String body, String[] tablespace) {
        List<String> lines = new ArrayList<>(body.lines().filter(l -> !l.startsWith("\\restrict ")
                && !l.startsWith("\\unrestrict ")).toList());
        List<String> trailing = new ArrayList<>();
        while (!lines.isEmpty()) {
            String last = lines.get(lines.size() - 1);
            if (last.isBlank() || last.startsWith("--")) {
                lines.remove(lines.size() - 1);
            } else if (TABLESPACE.matcher(last).matches() || ACCESS_METHOD.matcher(last).matches()) {
                trailing.add(0, last);
                lines.remove(lines.size() - 1);
            } else {
                break;
            }
        }
        for (String set : trailing) {
            Matcher t = TABLESPACE.matcher(set);
            if (t.matches()) {
                tablespace[0] = t.group(1);
            }
        }
        return String.join("\n", lines) + "\n";
    }

    private static String lastTablespace(String preamble) {
        String found = null;
        for (String line : preamble.lines().toList()) {
            Matcher t = TABLESPACE.matcher(line);
            if (t.matches()) {
                found = t.group(1);
            }
        }
        return found;
    }
}
