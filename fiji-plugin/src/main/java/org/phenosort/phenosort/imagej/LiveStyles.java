package org.phenosort.phenosort.imagej;

import ij.gui.Roi;
import java.awt.BasicStroke;
import java.awt.Color;
import java.util.List;

/**
 * How the live overlay draws an object: a translucent fill in its predicted class's colour (the
 * Glasbey colour of the class's ROI group, as annotations and class maps use), or, where the live
 * model is unsure (margin below {@link #UNSURE_MARGIN}), only a thin dashed outline in that
 * colour. Labelled objects get their solid annotation outline on top (AnnotationSession), so a
 * label and a prediction never look alike. No display needed.
 */
public final class LiveStyles {
    /** Below this margin (top minus second probability) an object is drawn as unsure. */
    public static final float UNSURE_MARGIN = 0.2f;
    /** Opacity of a sure object's fill (0-255). */
    public static final int FILL_ALPHA = 96;
    /** Where the overlay keeps what it drew, for macros and tests: "class name|kind|margin". */
    public static final String SHOWN = "phenosort-live";
    static final BasicStroke DASHED = new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
            new float[] {3f, 3f}, 0f);
    private static final BasicStroke SOLID = new BasicStroke(1f);
    private static final Color INVISIBLE = new Color(0, 0, 0, 0);

    /** How an object is drawn. */
    public enum Kind {
        /** A translucent fill. */
        SURE,
        /** A dashed outline. */
        UNSURE,
        /** Nothing: no prediction yet. */
        NONE;

        public String key() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private LiveStyles() {}

    public static Kind kind(LiveResults.Prediction p) {
        if (p == null) return Kind.NONE;
        return p.margin < UNSURE_MARGIN ? Kind.UNSURE : Kind.SURE;
    }

    /**
     * The annotation class number (so the colour) of each session class: entry k-1 for session
     * class k. Annotation classes are matched by name; session classes the annotation list lacks
     * are appended to {@code annotationNames}, so both keep one colour per name.
     */
    public static int[] colourClasses(List<String> sessionClasses, List<String> annotationNames) {
        int[] out = new int[sessionClasses.size()];
        for (int i = 0; i < out.length; i++) {
            int k = annotationNames.indexOf(sessionClasses.get(i));
            if (k < 0) {
                annotationNames.add(sessionClasses.get(i));
                k = annotationNames.size() - 1;
            }
            out[i] = k + 1;
        }
        return out;
    }

    /** The fill of a sure object of colour class {@code k}; null for the other kinds. */
    public static Color fill(Kind kind, int k) {
        if (kind != Kind.SURE) return null;
        Color c = Glasbey.color(k);
        return new Color(c.getRed(), c.getGreen(), c.getBlue(), FILL_ALPHA);
    }

    /** The outline colour: the class colour for unsure objects, invisible for the others. */
    public static Color stroke(Kind kind, int k) {
        return kind == Kind.UNSURE ? Glasbey.color(k) : INVISIBLE;
    }

    /**
     * Styles {@code roi} (one slice of an object's outline) for prediction {@code p} (null: none
     * yet), coloured as annotation class {@code colourClass}; records what it shows under {@link #SHOWN}.
     */
    public static void apply(Roi roi, LiveResults.Prediction p, int colourClass) {
        Kind kind = kind(p);
        roi.setFillColor(fill(kind, colourClass));
        roi.setStroke(kind == Kind.UNSURE ? DASHED : SOLID);
        roi.setStrokeColor(stroke(kind, colourClass));
        roi.setProperty(SHOWN, p == null ? null : p.className + "|" + kind.key() + "|"
                + String.format(java.util.Locale.ROOT, "%.4f", p.margin));
    }
}
