package org.phenosort.phenosort.workflow;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** Training options as service settings, and folder pairing by the Python package's rules. */
public class WorkflowTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    @Test
    public void defaultsLeaveTheServiceDefaults() {
        assertEquals("{}", new TrainingOptions().settingsJson());
    }

    @Test
    public void aRunResetsItsSettingsLeftAtDefaultToTheServiceDefaults() {
        // "epochs 0 = default" is the service's default, not the epochs the model was created with
        JsonObject s = JsonParser.parseString(new TrainingOptions().runSettingsJson()).getAsJsonObject();
        assertEquals("default", s.get("train_epochs").getAsString());
        assertEquals("default", s.get("train_val_fraction").getAsString());
        assertEquals("default", s.get("aug_flip").getAsString());
        assertEquals("default", s.get("aug_rot90").getAsString());
        // the network, patch and normalisation made the weights: the model's own stay
        assertNull(s.get("net_name"));
        assertNull(s.get("patch_size"));
        assertNull(s.get("norm_mode"));
        TrainingOptions o = new TrainingOptions();
        o.epochs = 7;
        o.validation = 0;
        o.augmentation = "none";
        s = JsonParser.parseString(o.runSettingsJson()).getAsJsonObject();
        assertEquals(7, s.get("train_epochs").getAsInt());
        assertEquals(0, s.get("train_val_fraction").getAsDouble(), 0);
        assertEquals(false, s.get("aug_flip").getAsBoolean());
    }

    @Test
    public void choicesBecomeModelConfigFields() {
        TrainingOptions o = new TrainingOptions();
        o.network = "resnet18";
        o.patchSize = 48;
        o.epochs = 30;
        o.validation = 0.25;
        o.normalization = "fixed";
        o.augmentation = "flips";
        JsonObject s = JsonParser.parseString(o.settingsJson()).getAsJsonObject();
        assertEquals("resnet18", s.get("net_name").getAsString());
        assertEquals(48, s.get("patch_size").getAsInt());
        assertEquals(30, s.get("train_epochs").getAsInt());
        assertEquals(0.25, s.get("train_val_fraction").getAsDouble(), 0);
        assertEquals("fixed", s.get("norm_mode").getAsString());
        assertTrue(s.get("aug_flip").getAsBoolean());
        assertEquals(false, s.get("aug_rot90").getAsBoolean());
    }

    @Test
    public void unknownAugmentationIsNamed() {
        TrainingOptions o = new TrainingOptions();
        o.augmentation = "wild";
        try {
            o.settingsJson();
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("'wild'"));
        }
    }

    @Test
    public void pairsByStemWithFoldersInAnyCase() throws IOException {
        File data = tmp.newFolder("data");
        File images = new File(data, "Images"), masks = new File(data, "MASKS");
        assertTrue(images.mkdir() && masks.mkdir());
        for (String n : new String[] {"b.tif", "a.ome.tif", ".hidden.tif", "notes.txt"}) touch(new File(images, n));
        for (String n : new String[] {"a.TIF", "b.tiff"}) touch(new File(masks, n));
        List<FolderPairs.Pair> pairs = FolderPairs.find(data);
        assertEquals(2, pairs.size());
        assertEquals("a", pairs.get(0).stem);
        assertEquals("a.TIF", pairs.get(0).mask.getName());
        assertEquals("b", pairs.get(1).stem);
        assertNull(FolderPairs.stem("notes.txt"));
    }

    @Test
    public void anImageWithoutMaskIsAnErrorListingIt() throws IOException {
        File data = tmp.newFolder("data2");
        File images = new File(data, "images"), masks = new File(data, "masks");
        assertTrue(images.mkdir() && masks.mkdir());
        touch(new File(images, "a.tif"));
        touch(new File(images, "lonely.tif"));
        touch(new File(masks, "a.tif"));
        try {
            FolderPairs.find(data);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("1 image(s) without a mask") && e.getMessage().contains("lonely"));
        }
    }

    private static void touch(File f) throws IOException {
        Files.write(f.toPath(), new byte[] {0});
    }
}
