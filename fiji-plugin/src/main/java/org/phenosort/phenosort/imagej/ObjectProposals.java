package org.phenosort.phenosort.imagej;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Which object an {@link AnnotationSession} proposes next: n a random object not yet annotated;
 * s the next object the server suggests (asked for in batches, on a worker thread), in live mode
 * the object the live model is least sure of.
 */
final class ObjectProposals {
    /** Suggestions asked for at once; s steps through them before asking again. */
    private static final int SUGGEST_N = 20;

    private final AnnotationSession session;
    private final Deque<Long> suggestions = new ArrayDeque<>();
    private final Random random = new Random();
    private boolean fetching;

    ObjectProposals(AnnotationSession session) {
        this.session = session;
    }

    /** Proposes a random object of the current frame that is not annotated yet. */
    void proposeRandom() {
        int frame = session.frame();
        Map<Long, Integer> done = session.editor().read(frame).classes;
        List<Long> open = new ArrayList<>();
        for (Long l : session.objects(frame).keySet()) if (!done.containsKey(l)) open.add(l);
        if (open.isEmpty()) {
            session.deselect("every object is annotated");
            return;
        }
        session.propose(open.get(random.nextInt(open.size())), AnnotationSession.Source.RANDOM);
    }

    /** Proposes the next suggested object, asking the server when none is left. */
    void proposeSuggested() {
        LiveMode live = session.live();
        if (live != null && live.isOn()) {
            proposeLeastCertain(live);
            return;
        }
        String model = session.model;
        if (model.isEmpty()) {
            session.status("no model: run Annotate Objects with a model name to get suggestions (n: random objects)");
            return;
        }
        int frame = session.frame();
        Map<Long, Integer> done = session.editor().read(frame).classes;
        while (!suggestions.isEmpty()) {
            long l = suggestions.poll();
            if (!done.containsKey(l) && session.objects(frame).containsKey(l)) {
                session.propose(l, AnnotationSession.Source.SUGGESTED);
                return;
            }
        }
        if (fetching) {
            session.status("waiting for the server's suggestions...");
            return;
        }
        fetching = true;
        session.status("asking the server for suggestions (model '" + model + "')...");
        SuggestionFetcher.fetch(session.image, session.labels(), frame, model, SUGGEST_N,
                new ArrayList<>(done.keySet()),
                found -> {
                    fetching = false;
                    suggestions.addAll(found);
                    if (found.isEmpty()) session.status("the server suggests no more objects");
                    else if (session.window.isShowing()) proposeSuggested();
                },
                error -> {
                    fetching = false;
                    session.status("suggestions failed: " + error);
                    session.sink.log("PhenoSort: suggestions failed: " + error);
                });
    }

    /** s in live mode: the object the live model is least sure of. */
    private void proposeLeastCertain(LiveMode live) {
        int frame = session.frame();
        if (frame != live.frame()) {
            session.status("live mode follows time point " + live.frame() + ": s proposes objects there");
            return;
        }
        Map<Long, Integer> done = session.editor().read(frame).classes;
        long label = live.leastCertain(done.keySet());
        if (label == 0 || !session.objects(frame).containsKey(label)) {
            live.showStatus();
            return;
        }
        session.propose(label, AnnotationSession.Source.SUGGESTED);
        session.status("object " + label + " (least certain: " + live.describe(label) + "): press 1-9");
    }
}
