package org.phenosort.phenosort.imagej;

import java.util.List;

/**
 * Adding a class from the keyboard in an {@link AnnotationSession}: the key after the last class
 * asks the user to confirm the new class and its name; keys further on add nothing.
 */
final class NewClassPrompt {
    private final AnnotationSession session;

    NewClassPrompt(AnnotationSession session) {
        this.session = session;
    }

    /**
     * Key {@code k} names no class yet: asks the user to confirm a new class k (and its name).
     * Only the next class can be added; true when it was.
     */
    boolean add(int k) {
        List<String> names = session.editor().classNames();
        if (k > names.size() + 1) {
            session.status("key " + k + ": the classes are " + ClassNames.numbered(names) + "; key "
                    + (names.size() + 1) + " adds a new class");
            return false;
        }
        String name = confirm(k, names);
        String title = session.image.getTitle();
        if (name == null) {
            session.status("no new class: key " + k + " was cancelled");
            session.sink.log("PhenoSort: no new class " + k + " in '" + title + "' (cancelled)");
            return false;
        }
        name = name.trim();
        if (name.isEmpty() || name.contains(",") || names.contains(name)) {
            session.status("no new class: '" + name + "' is " + (name.isEmpty() ? "empty" : name.contains(",")
                    ? "not a class name (a comma)" : "a class already"));
            return false;
        }
        names.add(name);
        RoiAnnotations.setGroupNames(names);
        session.sink.log("PhenoSort: new class " + k + " '" + name + "' in '" + title + "'");
        return true;
    }

    /** The GUI's confirmation of a new class: its name, or null when cancelled. */
    private static String confirm(int k, List<String> names) {
        ij.gui.GenericDialog gd = new ij.gui.GenericDialog("PhenoSort: new class");
        gd.addMessage("Key " + k + " is not a class yet. The classes are:\n" + ClassNames.numbered(names)
                + "\nAdd class " + k + "?");
        gd.addStringField("Name", "class " + k, 20);
        gd.showDialog();
        return gd.wasCanceled() ? null : gd.getNextString();
    }
}
