package org.phenosort.phenosort;

import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.Test;

/**
 * The plugin's packages depend on each other in one direction only: macro and commands on
 * workflow, workflow on imagej and client, imagej on client (issue 18: macro imported commands).
 */
public class LayersTest {
    private static final Map<String, List<String>> ALLOWED = new HashMap<>();

    static {
        ALLOWED.put("client", Arrays.asList());
        ALLOWED.put("imagej", Arrays.asList("client"));
        ALLOWED.put("workflow", Arrays.asList("client", "imagej"));
        ALLOWED.put("macro", Arrays.asList("workflow", "client", "imagej"));
        ALLOWED.put("commands", Arrays.asList("workflow", "client", "imagej"));
    }

    @Test
    public void importsFollowTheLayers() throws IOException {
        Path root = Paths.get("src/main/java/org/phenosort/phenosort");
        Pattern use = Pattern.compile("org\\.phenosort\\.phenosort\\.(client|imagej|workflow|macro|commands)\\.");
        List<String> wrong = new ArrayList<>();
        int files = 0;
        for (String pkg : ALLOWED.keySet()) {
            try (Stream<Path> paths = Files.list(root.resolve(pkg))) {
                for (Path p : (Iterable<Path>) paths.filter(f -> f.toString().endsWith(".java"))::iterator) {
                    files++;
                    // code only: comments and string literals may name any class (documentation, messages)
                    String code = new String(Files.readAllBytes(p), StandardCharsets.UTF_8)
                            .replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "")
                            .replaceAll("\"(?:\\\\.|[^\"\\\\])*\"", "\"\"");
                    Matcher m = use.matcher(code);
                    while (m.find()) {
                        String other = m.group(1);
                        if (!other.equals(pkg) && !ALLOWED.get(pkg).contains(other)) {
                            wrong.add(p.getFileName() + " (" + pkg + ") uses " + other);
                        }
                    }
                }
            }
        }
        assertTrue("no sources found under " + root.toAbsolutePath(), files > 30);
        assertTrue(String.join("\n", wrong), wrong.isEmpty());
    }
}
