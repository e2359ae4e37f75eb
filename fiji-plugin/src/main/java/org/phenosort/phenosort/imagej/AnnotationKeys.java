package org.phenosort.phenosort.imagej;

import ij.gui.ImageCanvas;
import ij.gui.ImageWindow;
import java.awt.Component;
import java.awt.EventQueue;
import java.awt.event.KeyEvent;
import java.awt.event.KeyListener;
import java.awt.event.MouseAdapter;
import java.awt.event.MouseEvent;
import java.awt.event.WindowAdapter;
import java.awt.event.WindowEvent;
import java.util.ArrayList;
import java.util.List;

/**
 * The keys and clicks of an {@link AnnotationSession}'s window, turned into the session's
 * actions (see the session for the keys). Its key listener goes before ImageJ's, which then only
 * gets the keys the session leaves; closing the window stops the session.
 */
final class AnnotationKeys implements KeyListener {
    private final AnnotationSession session;
    private final ImageWindow window;
    private final ImageCanvas canvas;
    private final NewClassPrompt newClass;
    private final List<KeyListener> imagejKeys = new ArrayList<>();
    private final MouseAdapter mouse = new MouseAdapter() {
        @Override
        public void mouseClicked(MouseEvent e) {
            clicked(e);
        }
    };
    private final WindowAdapter closing = new WindowAdapter() {
        @Override
        public void windowClosed(WindowEvent e) {
            session.stop();
        }
    };
    /** A digit pressed for a class that does not exist yet: the new class is asked for on its release. */
    private int newClassKey;

    AnnotationKeys(AnnotationSession session, ImageWindow window, ImageCanvas canvas) {
        this.session = session;
        this.window = window;
        this.canvas = canvas;
        this.newClass = new NewClassPrompt(session);
    }

    void install() {
        canvas.addMouseListener(mouse);
        // ImageJ runs plain-letter shortcuts (n = New, r = Revert, Backspace = Clear) and ignores
        // consumed events, so its key listener moves behind ours and only gets the keys we leave
        for (Component c : new Component[] {canvas, window}) {
            for (KeyListener k : c.getKeyListeners()) {
                if (k instanceof ij.ImageJ) {
                    c.removeKeyListener(k);
                    if (!imagejKeys.contains(k)) imagejKeys.add(k);
                }
            }
            c.addKeyListener(this);
        }
        window.addWindowListener(closing);
    }

    void uninstall() {
        canvas.removeMouseListener(mouse);
        for (Component c : new Component[] {canvas, window}) {
            c.removeKeyListener(this);
            for (KeyListener k : imagejKeys) c.addKeyListener(k);
        }
        window.removeWindowListener(closing);
    }

    @Override
    public void keyPressed(KeyEvent e) {
        if (!handle(e)) {
            for (KeyListener k : imagejKeys) k.keyPressed(e);
        }
    }

    @Override
    public void keyTyped(KeyEvent e) {
        for (KeyListener k : imagejKeys) k.keyTyped(e);
    }

    @Override
    public void keyReleased(KeyEvent e) {
        int k = newClassKey;
        if (k > 0 && e.getKeyChar() == (char) ('0' + k)) {
            newClassKey = 0;
            e.consume();
            EventQueue.invokeLater(() -> {
                if (newClass.add(k)) session.assign(k);
            });
            return;
        }
        for (KeyListener l : imagejKeys) l.keyReleased(e);
    }

    private boolean handle(KeyEvent e) {
        if (e.isControlDown() || e.isMetaDown() || e.isAltDown()) return false;  // Ctrl+S etc. stay ImageJ's
        char c = e.getKeyChar();
        int code = e.getKeyCode();
        LiveMode live = session.live();
        try {
            if (c >= '1' && c <= '9') {
                // asked when the key is released: its typed digit must not land in the dialog
                if (!session.assign(c - '0')) newClassKey = c - '0';
            } else if (c == 'r' || c == 'R' || code == KeyEvent.VK_BACK_SPACE) {
                session.undo();
            } else if (c == 'n' || c == 'N') {
                session.proposals().proposeRandom();
            } else if (c == 's' || c == 'S') {
                session.proposals().proposeSuggested();
            } else if ((c == 'l' || c == 'L') && live != null) {
                session.status(live.isOn() ? live.toggle() : "live mode is off");
            } else if ((c == 'c' || c == 'C') && live != null) {
                live.commit(outcome -> { });
            } else {
                return false;
            }
        } catch (RuntimeException ex) {  // a listener must not die: report and go on
            session.status("error: " + ex.getMessage());
            session.sink.log("PhenoSort annotate error: " + ex);
        }
        e.consume();
        return true;
    }

    private void clicked(MouseEvent e) {
        if (e.getButton() != MouseEvent.BUTTON1 || e.isPopupTrigger()) return;
        session.clickedAt(canvas.offScreenX(e.getX()), canvas.offScreenY(e.getY()));
    }
}
