package io.pgferry.agent.schemaarchive;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of {@code pg_restore --list}: {@code <dump id>; <catalog oid> <object oid> <desc> <rest>}. Only the
 * numbers and the desc are taken from it; {@code rest} (schema, name, owner, joined by spaces that may also be
 * inside the names) is never split, only compared with strings built from catalog names.
 */
record TocLine(int id, long catalogOid, long objectOid, String desc, String rest) {
    static final String UNKNOWN = "UNKNOWN";
    private static final Pattern LINE = Pattern.compile("^(\\d+); (\\d+) (\\d+) (.*)$");
    /** Entries pg_dump writes with no catalog object of their own (catalog and object OID 0). */
    private static final List<String> NO_OID_DESCS = longestFirst(List.of("ACL", "COMMENT", "DATABASE PROPERTIES",
            "DEFAULT ACL", "ENCODING", "INDEX ATTACH", "SEARCHPATH", "SECURITY LABEL", "SEQUENCE OWNED BY",
            "SEQUENCE SET", "STATISTICS DATA", "STDSTRINGS", "TABLE ATTACH", "TABLE DATA"));
    private static final List<String> DESCS = longestFirst(List.of("ACCESS METHOD", "AGGREGATE", "BLOB",
            "BLOB METADATA", "BLOBS", "CAST", "CHECK CONSTRAINT", "COLLATION", "CONSTRAINT", "CONVERSION", "DATABASE",
            "DEFAULT", "DOMAIN", "EVENT TRIGGER", "EXTENSION", "FK CONSTRAINT", "FOREIGN DATA WRAPPER",
            "FOREIGN SERVER", "FOREIGN TABLE", "FUNCTION", "INDEX", "LARGE OBJECT", "MATERIALIZED VIEW",
            "MATERIALIZED VIEW DATA", "OPERATOR", "OPERATOR CLASS", "OPERATOR FAMILY", "POLICY",
            "PROCEDURAL LANGUAGE", "PROCEDURE", "PUBLICATION", "PUBLICATION TABLE", "PUBLICATION TABLES IN SCHEMA",
            "ROW SECURITY", "RULE", "SCHEMA", "SEQUENCE", "SERVER", "SHELL TYPE", "STATISTICS", "SUBSCRIPTION",
            "SUBSCRIPTION TABLE", "TABLE", "TABLE DATA", "TEXT SEARCH CONFIGURATION", "TEXT SEARCH DICTIONARY",
            "TEXT SEARCH PARSER", "TEXT SEARCH TEMPLATE", "TRANSFORM", "TRIGGER", "TYPE", "USER MAPPING", "VIEW"));

    static List<TocLine> parse(String listing) {
        try {
            return parse(new BufferedReader(new StringReader(listing)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<TocLine> parse(BufferedReader listing) throws IOException {
        List<TocLine> out = new ArrayList<>();
        for (String line = listing.readLine(); line != null; line = listing.readLine()) {
            Matcher m = LINE.matcher(line);
            if (line.startsWith(";") || !m.matches()) {
                continue;
            }
            long catalog = Long.parseLong(m.group(2));
            long object = Long.parseLong(m.group(3));
            String text = m.group(4);
            String desc = descOf(text, catalog == 0 && object == 0 ? NO_OID_DESCS : DESCS);
            String rest = desc.equals(UNKNOWN) ? text
                    : text.length() > desc.length() ? text.substring(desc.length() + 1) : "";
            out.add(new TocLine(Integer.parseInt(m.group(1)), catalog, object, desc, rest));
        }
        return out;
    }

    /** The known desc the text starts with; a desc this agent does not know is kept whole as "unknown". */
    private static String descOf(String text, List<String> known) {
        for (String desc : known) {
            if (text.startsWith(desc + " ") || text.equals(desc)) {
                return desc;
            }
        }
        return UNKNOWN;
    }

    private static List<String> longestFirst(List<String> descs) {
        return descs.stream().sorted(Comparator.comparingInt(String::length).reversed()).toList();
    }
}
