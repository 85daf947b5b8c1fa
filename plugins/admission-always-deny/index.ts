/** admission-always-deny: upstream's AlwaysDeny, which rejects every write. See README.md. */
import { definePlugin, forbidden } from 'skiff/sdk';

export default definePlugin({
  name: 'admission-always-deny',
  description: "Rejects every write (upstream's AlwaysDeny), for testing the chain.",
  admissionName: 'AlwaysDeny',
  admissionOrder: 41,
  setup(ctx) {
    ctx.provide.admission({
      name: 'AlwaysDeny',
      admit: (a) => {
        throw forbidden(a, 'admission control is denying all modifications');
      },
    });
  },
});
