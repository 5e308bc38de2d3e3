package io.pgferry.agent.preflight;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What one preflight collects: findings, plus facts and notes about what was (or could not be) checked. */
final class Findings {
    private final List<Finding> findings = new ArrayList<>();
    private final Map<String, Object> facts = new LinkedHashMap<>();
    private final List<String> notes = new ArrayList<>();

    void error(String code, List<String> objects, String message, String fix) {
        findings.add(new Finding(code, Finding.ERROR, objects, message, fix));
    }

    void warning(String code, List<String> objects, String message, String fix) {
        findings.add(new Finding(code, Finding.WARNING, objects, message, fix));
    }

    void add(String code, boolean error, List<String> objects, String message, String fix) {
        findings.add(new Finding(code, error ? Finding.ERROR : Finding.WARNING, objects, message, fix));
    }

    void add(Finding finding) {
        findings.add(finding);
    }

    void fact(String key, Object value) {
        facts.put(key, value);
    }

    void note(String note) {
        notes.add(note);
    }

    PreflightResult result(String side) {
        boolean ok = findings.stream().noneMatch(Finding::isError);
        return new PreflightResult(ok, side, List.copyOf(findings), facts, List.copyOf(notes));
    }
}
