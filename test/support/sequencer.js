// Test order for `npm test`. Jest's own sequencer starts the files that took longest in an earlier
// run on this machine (its cache) and otherwise the largest files first. On a fresh machine there is
// no cache, and an e2e file's size says little about its run time: the longest file (hosts-ha, about
// 13 min) could start last and run alone at the end while the other workers idle. The e2e files'
// typical durations are therefore kept in test/e2e/durations.json (seconds, from a CI run; a unit test
// checks that every e2e file is listed) and the e2e files start longest first. Unit files keep Jest's
// order.
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;
const durations = require('../e2e/durations.json');

const REPO = path.resolve(__dirname, '../..');

class LongestFirst extends Sequencer {
  sort(tests) {
    const jestOrder = super.sort(tests);
    const known = (t) => durations.seconds[path.relative(REPO, t.path).split(path.sep).join('/')];
    if (!tests.some((t) => known(t) !== undefined)) return jestOrder;
    const rank = new Map(jestOrder.map((t, i) => [t, i]));
    // A file missing from the table (a new one) counts as a minute; ties keep Jest's order.
    const seconds = (t) => known(t) ?? 60;
    return [...tests].sort((a, b) => seconds(b) - seconds(a) || rank.get(a) - rank.get(b));
  }
}

module.exports = LongestFirst;
