package org.phenosort.phenosort.imagej;

import ij.gui.Roi;
import java.util.ArrayList;
import java.util.List;

/** Class name lists as the user types them ("a, b, c") and as ImageJ's ROI group names hold them. */
public final class ClassNames {
    private ClassNames() {}

    /** "a, b ,c" -> [a, b, c]; empty entries dropped. */
    public static List<String> parse(String s) {
        List<String> out = new ArrayList<>();
        if (s == null) return out;
        for (String part : s.split(",")) {
            String t = part.trim();
            if (!t.isEmpty()) out.add(t);
        }
        return out;
    }

    /** ImageJ's current ROI group names (a global preference), in group order; may be empty. */
    public static List<String> fromGroups() {
        return parse(Roi.getGroupNames());
    }

    /** "a (1), b (2)", or "none yet". */
    public static String numbered(List<String> names) {
        if (names.isEmpty()) return "none yet";
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) sb.append(", ");
            sb.append(names.get(i)).append(" (").append(i + 1).append(')');
        }
        return sb.toString();
    }

    /** "a=3, b=0, c=1 (4 objects)". */
    public static String counts(List<String> names, int[] counts) {
        StringBuilder sb = new StringBuilder();
        int total = 0;
        for (int i = 0; i < names.size(); i++) {
            int n = i < counts.length ? counts[i] : 0;
            total += n;
            if (sb.length() > 0) sb.append(", ");
            sb.append(names.get(i)).append('=').append(n);
        }
        if (sb.length() == 0) sb.append("no classes yet");
        return sb.append(" (").append(total).append(total == 1 ? " object)" : " objects)").toString();
    }
}
