/** admission-always-admit: upstream's AlwaysAdmit, which admits everything. See README.md. */
import { definePlugin } from '../../core/sdk.js';

export default definePlugin({
  name: 'admission-always-admit',
  description: "Admits every request (upstream's AlwaysAdmit, deprecated there): a no-op link in the chain.",
  setup(ctx) {
    ctx.provide.admission({ name: 'AlwaysAdmit', validate: () => undefined });
  },
});
