import { calibrationMs } from '../../../bench/calibrate';

describe('bench: machine calibration', () => {
  it('times a fixed workload: a positive, finite number of milliseconds, the best of the runs', () => {
    const one = calibrationMs(1);
    const best = calibrationMs(3);
    expect(Number.isFinite(one) && one > 0).toBe(true);
    expect(Number.isFinite(best) && best > 0).toBe(true);
  });
});
