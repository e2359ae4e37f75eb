package org.phenosort.phenosort.workflow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import org.junit.Test;

/** Dialog labels give the macro keys the constants name, as ImageJ derives them. */
public class MacroKeysTest {
    @Test
    public void aLabelWhoseFirstWordIsTheKeyPasses() {
        assertEquals("Version (0 = latest)", MacroKeys.field(MacroKeys.VERSION, "Version (0 = latest)"));
        assertEquals("Per-class label images", MacroKeys.field(MacroKeys.CLASS_MASKS, "Per-class label images"));
        assertEquals("Per_class (tiles)", MacroKeys.field(MacroKeys.PER_CLASS, "Per_class (tiles)"));
    }

    @Test
    public void aRewordedLabelThatWouldRenameTheKeyFails() {
        try {
            MacroKeys.field(MacroKeys.VERSION, "Model version");
            fail("'Model version' gives the key 'model'");
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("'model'"));
        }
    }

    @Test
    public void flagsAreWholeWords() {
        assertTrue(MacroKeys.flag("save=/x show", MacroKeys.SHOW));
        assertTrue(MacroKeys.flag("show", MacroKeys.SHOW));
        assertFalse(MacroKeys.flag("save=/show", MacroKeys.SHOW));
        assertFalse(MacroKeys.flag(null, MacroKeys.SHOW));
    }
}
