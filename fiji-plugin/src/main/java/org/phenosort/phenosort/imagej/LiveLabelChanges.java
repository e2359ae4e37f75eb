package org.phenosort.phenosort.imagej;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.phenosort.phenosort.proto.v1.LabelChange;

/**
 * The label changes one image of {@link LiveMode} sends to its live session: its annotations
 * compared with what was sent before (new or changed classes, removed labels), a class the
 * session does not have reported once in the Log, and labels the session holds that the
 * annotations do not. Remembers what it returned as sent; on the event dispatch thread.
 */
final class LiveLabelChanges {
    private final String model;
    private final StatusSink sink;
    private final Map<Long, String> sent = new HashMap<>();
    private final Set<String> warned = new HashSet<>();

    LiveLabelChanges(String model, StatusSink sink) {
        this.model = model;
        this.sink = sink;
    }

    /**
     * What the session of image {@code imageId} (with classes {@code classes}) must change to
     * hold the annotations {@code now}.
     */
    List<LabelChange> since(String imageId, RoiAnnotations.Result now, List<String> classes) {
        Map<Long, String> named = new HashMap<>();
        for (Map.Entry<Long, Integer> a : now.classes.entrySet()) {
            named.put(a.getKey(), now.classNames.get(a.getValue() - 1));
        }
        List<LabelChange> changes = new ArrayList<>();
        for (Map.Entry<Long, String> a : named.entrySet()) {
            long label = a.getKey();
            String cls = a.getValue();
            if (cls.equals(sent.get(label))) continue;
            if (!classes.contains(cls)) {
                if (warned.add(cls)) {
                    sink.log("PhenoSort: class '" + cls + "' is not a class of the live session of '" + model + "' ("
                            + String.join(", ", classes) + "): its labels do not train the live model. A session's "
                            + "classes are fixed when it opens: list every class in Annotate Objects' classes.");
                }
                if (sent.remove(label) != null) changes.add(change(imageId, label).setRemove(true).build());
                continue;
            }
            changes.add(change(imageId, label).setClassName(cls).build());
            sent.put(label, cls);
        }
        for (Iterator<Long> it = sent.keySet().iterator(); it.hasNext(); ) {
            long label = it.next();
            if (!named.containsKey(label)) {
                changes.add(change(imageId, label).setRemove(true).build());
                it.remove();
            }
        }
        return changes;
    }

    /**
     * Removals of the labels the session holds on image {@code imageId} ({@code results}) that
     * were not sent from here (a session joined from elsewhere).
     */
    List<LabelChange> stale(String imageId, LiveResults results) {
        List<LabelChange> changes = new ArrayList<>();
        for (LiveResults.Prediction p : results.objects().values()) {
            if (p.labelled && !sent.containsKey(p.label)) changes.add(change(imageId, p.label).setRemove(true).build());
        }
        return changes;
    }

    private static LabelChange.Builder change(String imageId, long label) {
        return LabelChange.newBuilder().setImageId(imageId).setLabel(label);
    }
}
